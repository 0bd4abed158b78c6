"""What the tables of scripts/bench-train share: its results file and the steady rate of
sg-train from its two epoch lines per rep (see the script's header)."""

import platform
import sys


def read_results(path):
    """Lines `TAG RATE WAIT WARMUP_RATE WARMUP_WAIT` (sg-train) or `TAG key=value...` (a Python
    loop) -> {TAG: [tuple of floats or dict, one per rep]}."""
    out = {}
    for line in open(path):
        tag, *fields = line.split()
        if all("=" in f for f in fields):
            kv = dict(f.split("=", 1) for f in fields)
            row = {k: (v if k == "model" else float(v)) for k, v in kv.items()}
        else:
            row = tuple(map(float, fields))
        out.setdefault(tag, []).append(row)
    return out


def sg_steady(reps, n, w, batch):
    """sg-train's (images/s, data share) over the N batches after the W warm-up ones, and over
    all W+N, from the best W+N and the best W run of the reps."""
    runs = []
    for rate, wait, wrate, wwait in reps:
        t = (n + w) * batch / rate              # seconds of the W+N batch epoch
        tw = w * batch / wrate if w else 0.0    # seconds of the W batch epoch
        runs.append((t, wait / 100 * t, tw, wwait / 100 * tw))
    t, wait_t = min((r[0], r[1]) for r in runs)
    tw, wait_tw = min((r[2], r[3]) for r in runs) if w else (0.0, 0.0)
    if t - tw <= 0:
        sys.exit("bench-train: the W-batch sg-train runs took longer than the W+N ones: "
                 "the machine is too busy for timings (see the load average); run it again")
    return n * batch / (t - tw), max(0.0, wait_t - wait_tw) / (t - tw), (n + w) * batch / t, wait_t / t


def ok(c):
    return "yes" if c else "**no**"


def cpu_name():
    return next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                platform.machine())
