#!/usr/bin/python3
"""Checkpoint save benchmark driver for scripts/bench-ckpt (run that, not this).

Part 1, for each state size: what one save blocks the training thread, ours in the
background (training_hyperparams.async_checkpoint, the default) and on the training thread,
against a plain memcpy of the state (the floor of any snapshot), Python's torch.save (which
blocks for the whole write) and a Python clone of every tensor; plus how long our writer
thread takes to put it on disk, against cp + fsync of the same file.
Part 2: sg-train end to end, ResNet-18 with EMA (net, EMA and momentum in every
checkpoint) on synthetic images, without step checkpoints and with one every N steps,
in the background and not. Progress goes to stderr, the tables to stdout.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_io  # noqa: E402
import bench_io  # noqa: E402
from bench_io import MB, PY, TORCH_IO, cp_times, fmt_time, machine_notes, print_table, verdict  # noqa: E402

log = bench_io.logger("bench-ckpt")


def output_of(cmd):
    return bench_io.output_of(cmd, "bench-ckpt")


def after_warmup(values, what):
    """The median of the runs after the first (a warm-up)."""
    log(f"  {what}: " + " ".join(f"{v:.4f}" for v in values) + f" -> median after the first {statistics.median(values[1:]):.4f} s")
    return statistics.median(values[1:])


def python_times(command, shapes, *extra, repeat=4):
    lines = output_of([PY, TORCH_IO, command, shapes, *extra, "--repeat", str(repeat)]).split("\n")
    return [float(line.split()[0]) for line in lines if line.strip()]


def save_rows(sizes, work, ckpt_bench, saves):
    rows = []
    for size in sizes:
        log(f"state of {size} MB")
        shapes = os.path.join(work, f"shapes_{size}.txt")
        torch_io.write_shapes(shapes, torch_io.make_shapes(size))
        out = os.path.join(work, f"ours_{size}")
        os.makedirs(out, exist_ok=True)
        kinds = {}
        total = 0
        for line in output_of([ckpt_bench, shapes, out, "--saves", str(saves)]).splitlines():
            kind, value = line.split()
            if kind == "bytes":
                total = int(value)
            else:
                kinds.setdefault(kind, []).append(float(value))
        t = {k: after_warmup(v, k) for k, v in kinds.items()}
        py_file = os.path.join(work, f"py_{size}.pth")
        t["torch.save"] = after_warmup(python_times("save", shapes, py_file), "Python torch.save")
        t["clone"] = after_warmup(python_times("clone", shapes), "Python clone of every tensor")
        ours = os.path.join(out, "ckpt_latest.pth")
        t["cp+fsync"] = min(cp_times(ours, os.path.join(work, "copy.pth"), with_fsync=True))
        log(f"  cp + fsync of our file: {t['cp+fsync']:.3f} s")
        os.unlink(py_file)
        label = f"{total / MB:.0f} MB"
        floor = t["memcpy"]
        rows.append((label, "memcpy into memory used before (the floor)", fmt_time(floor), "1.00x", ""))
        rows.append((label, "memcpy into fresh memory", fmt_time(t["memcpy-fresh"]), f"{t['memcpy-fresh'] / floor:.2f}x", ""))
        rows.append((label, "**ours, async_checkpoint: True** (the staging copy)", fmt_time(t["async"]),
                     f"{t['async'] / floor:.2f}x", "<= 1.5x memcpy: " + verdict(t["async"] <= 1.5 * floor)))
        rows.append((label, "ours, async_checkpoint: False (the whole write, fsync included)", fmt_time(t["sync"]),
                     f"{t['sync'] / floor:.2f}x", ""))
        rows.append((label, "Python `torch.save` (blocks for the whole write, no fsync)", fmt_time(t["torch.save"]),
                     f"{t['torch.save'] / floor:.2f}x", ""))
        rows.append((label, "Python: `clone()` of every tensor (a snapshot)", fmt_time(t["clone"]),
                     f"{t['clone'] / floor:.2f}x", ""))
        rows.append((label, "  not blocking: our writer thread, until on disk", fmt_time(t["async-written"]), "",
                     f"cp + fsync of the file: {fmt_time(t['cp+fsync'])} ({t['cp+fsync'] / t['async-written']:.2f}x ours)"))
    return rows


def train_seconds(train, work, name, steps, extra):
    """Wall time of one sg-train run and the checkpoint-cost lines it logged."""
    cmd = [train, "--config-name", "test_tiny", "architecture=resnet18", "epochs=1", "ema=True",
           f"dataset_params.synthetic.train_size={16 * steps}", "dataset_params.synthetic.image_size=32",
           "training_hyperparams.max_train_batches=null", "training_hyperparams.average_best_models=False",
           "training_hyperparams.save_ckpt_epoch_list=[]", "training_hyperparams.num_threads=2",
           "ckpt_root_dir=" + os.path.join(work, "runs"), "experiment_name=" + name] + extra
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"bench-ckpt: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    costs = [line for line in p.stderr.splitlines() if "checkpoints of epoch" in line]
    return dt, costs


def training_rows(train, work, steps, every, reps):
    modes = [("no step checkpoints", []),
             (f"every {every} steps, async_checkpoint: True", [f"+training_hyperparams.ckpt_every_n_steps={every}"]),
             (f"every {every} steps, async_checkpoint: False", [f"+training_hyperparams.ckpt_every_n_steps={every}",
                                                                "+training_hyperparams.async_checkpoint=False"])]
    best = {}
    for rep in range(reps):   # interleaved, the best of each counts
        for i, (label, extra) in enumerate(modes):
            dt, costs = train_seconds(train, work, f"m{i}_{rep}", steps, extra)
            log(f"  {label}: {dt:.2f} s; {costs[-1] if costs else ''}")
            best[label] = min(best.get(label, dt), dt)
    base = best[modes[0][0]]
    saves = steps // every - (1 if steps % every == 0 else 0)   # none at the epoch's last step
    rows = []
    for label, _ in modes:
        extra = best[label] - base
        per_save = extra / saves if label != modes[0][0] else 0
        rows.append((label, f"{best[label]:.2f} s", f"{100 * extra / base:+.1f}%" if per_save else "",
                     f"{per_save * 1000:.0f} ms" if per_save else "",
                     f"{100 * per_save / 60:.2f}%" if per_save else ""))
    return rows, saves


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ckpt-bench", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--saves", type=int, default=5)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # scripts/bench-ckpt's cleanup
    sizes = [int(s) for s in a.sizes.split(",")]
    load = os.getloadavg()[0]
    rows = save_rows(sizes, a.work, a.ckpt_bench, a.saves)
    log(f"sg-train, {a.steps} steps of ResNet-18 + EMA, batch 16 of 32x32 images")
    train_rows, saves = training_rows(a.train, a.work, a.steps, a.every, a.reps)
    print(f"Machine: {machine_notes(a.work)}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.")
    print()
    print_table(("state", "what the training thread waits for, per save", "time", "/ memcpy", "target"), rows)
    print()
    print(f"Medians of {a.saves - 1} saves after a warm-up one (Python: of 3 after one); the writer's row is not "
          f"blocking time: the training thread goes on meanwhile.")
    print()
    print_table((f"sg-train, {a.steps} steps (ResNet-18 + EMA, {saves} step checkpoints)", "wall time", "overhead",
                 "per save", "overhead at one checkpoint a minute"), train_rows)
    print()
    print(f"Best of {a.reps} interleaved runs each; per save = the extra wall time over the run without step "
          f"checkpoints / {saves}; a minute's overhead = per save / 60 s (target: under 5%).")


if __name__ == "__main__":
    main()
