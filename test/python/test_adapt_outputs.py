"""sg-ckpt-adapt's output: never half-written, never a file that appeared meanwhile replaced.

- SIGTERM while the output is being written: the program ends by the signal, and neither
  the output nor its temp file is left.
- Without --force, a file that appears under the output's name while the conversion runs
  (another sg-ckpt-adapt writing the same new output) is not replaced: exit 2, one line.
- A temp file left by a killed writer of the same output is removed by the next run;
  one whose writer is still running is not.
The writer is frozen (SIGSTOP) once its temp file exists, so each case is a state, not a race.
"""

import glob
import hashlib
import os
import signal
import sys
import time

import sgtest


def temp_files(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def start_and_freeze(cmd, folder):
    """Starts cmd and stops it (SIGSTOP) once its temp file is in folder; None if it never
    made one (it ended first)."""
    p = sgtest.Started(cmd, timeout=300)
    while p.p.poll() is None:
        if temp_files(folder):
            p.signal(signal.SIGSTOP)
            return p
        time.sleep(0.002)   # a polling interval, not a wait for the state
    p.finish()
    return None


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("adapt",))
    torch = sgtest.import_torch()
    work = sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_adapt_outputs")
    big, small = os.path.join(work, "big.pth"), os.path.join(work, "small.pth")
    torch.save({"net": {"w": torch.arange(60_000_000, dtype=torch.float32)}}, big)
    torch.save({"net": {"w": torch.ones(3)}}, small)
    out_dir = sgtest.fresh_dir(os.path.join(work, "out"))

    # SIGTERM mid-write.
    out = os.path.join(out_dir, "stopped.pth")
    p = start_and_freeze([args.adapt, big, "-o", out], out_dir)
    if checker.check(p is not None, "SIGTERM: the conversion never made its temp file"):
        p.signal(signal.SIGTERM)
        p.signal(signal.SIGCONT)
        r = p.finish()
        checker.check(r.rc == -signal.SIGTERM, "SIGTERM: expected death by the signal: %s" % r.describe())
        checker.check(not os.path.exists(out) and not temp_files(out_dir),
                      "SIGTERM: left %s" % sorted(os.listdir(out_dir)))

    # Another writer creates the output meanwhile.
    out = os.path.join(out_dir, "shared.pth")
    p = start_and_freeze([args.adapt, big, "-o", out], out_dir)
    if checker.check(p is not None, "race: the conversion never made its temp file"):
        other = sgtest.run([args.adapt, small, "-o", out], timeout=120)
        checker.check(other.rc == 0, "race: the second writer: %s" % other.describe())
        theirs = sha256(out) if os.path.exists(out) else None
        p.signal(signal.SIGCONT)
        r = p.finish()
        lines = [l for l in r.err.splitlines() if l.strip()]
        checker.check(r.rc == 2 and len(lines) == 1 and lines[0].startswith("sg-ckpt-adapt: error: " + out) and
                      "appeared while it was being written" in lines[0], "race: the first writer: %s" % r.describe())
        checker.check(theirs is not None and sha256(out) == theirs, "race: the second writer's output was replaced")
        checker.check(not temp_files(out_dir), "race: temp files left %s" % temp_files(out_dir))

    # Leftovers of a killed writer go with the next run; a live writer's stay.
    out = os.path.join(out_dir, "again.pth")
    dead = os.path.join(out_dir, ".again.pth.tmp-99999999-0")      # no process has that pid
    live = os.path.join(out_dir, ".again.pth.tmp-%d-0" % os.getpid())
    for f in (dead, live):
        open(f, "wb").write(b"partial")
    r = sgtest.run([args.adapt, small, "-o", out], timeout=120)
    checker.check(r.rc == 0 and os.path.isfile(out), "leftovers: %s" % r.describe())
    checker.check(not os.path.exists(dead) and os.path.exists(live), "leftovers: left %s" % temp_files(out_dir))
    os.remove(live)
    checker.check(not glob.glob(os.path.join(work, ".*.tmp-*")), "temp files next to the inputs")
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
