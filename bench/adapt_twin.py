#!/usr/bin/python3
"""sg-ckpt-adapt against the same conversion written in Python, for scripts/bench-adapt
(run that, not this). Run with Debian's /usr/bin/python3 (it has torch).

  adapt_twin.py make SIZE_MB OUT        torch.save {"net": <~SIZE_MB float32 state dict>, "epoch", "acc"}
  adapt_twin.py convert IN OUT          torch.load + .half() of net's floating tensors + torch.save;
                                        prints "LOAD CONVERT SAVE TOTAL" seconds (in-process)
  adapt_twin.py check A B               A and B hold bit-identical tensors (exit 1 if not)
  adapt_twin.py bench --sizes 1000 --work DIR --adapt BIN [--runs N]
                                        the driver: prints one markdown table on stdout
"""
import argparse
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_io  # noqa: E402  (the shape list shared with bench-io)

PY = "/usr/bin/python3"
MB = 1_000_000
T0 = time.perf_counter()


def log(msg):
    sys.stderr.write(f"[bench-adapt {time.perf_counter() - T0:6.1f}s] {msg}\n")
    sys.stderr.flush()


def cmd_make(size_mb, out):
    import torch
    sd = torch_io.make_state_dict(torch_io.make_shapes(size_mb))
    torch.save({"net": sd, "epoch": 3, "acc": 0.5}, out)


def cmd_convert(src, dst):
    import torch
    t0 = time.perf_counter()
    ckpt = torch.load(src)
    t1 = time.perf_counter()
    ckpt["net"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ckpt["net"].items()}
    t2 = time.perf_counter()
    torch.save(ckpt, dst)
    t3 = time.perf_counter()
    print(f"{t1 - t0:.6f} {t2 - t1:.6f} {t3 - t2:.6f} {t3 - t0:.6f}", flush=True)


def cmd_check(a, b):
    import torch
    x, y = torch.load(a)["net"], torch.load(b)["net"]
    if list(x) != list(y):
        raise SystemExit("check: keys differ")
    for k in x:
        if x[k].dtype != y[k].dtype or x[k].shape != y[k].shape:
            raise SystemExit(f"check: {k}: {x[k].dtype} {list(x[k].shape)} vs {y[k].dtype} {list(y[k].shape)}")
        if not torch.equal(x[k].view(torch.int16), y[k].view(torch.int16)):
            raise SystemExit(f"check: {k}: values differ")


def wall(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"bench-adapt: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
    return dt, p.stdout


def cmd_bench(args):
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        src = os.path.join(args.work, f"in-{size}.pth")
        ours_out = os.path.join(args.work, f"ours-{size}.pth")
        py_out = os.path.join(args.work, f"py-{size}.pth")
        log(f"{size} MB: making the checkpoint with torch.save")
        subprocess.run([PY, __file__, "make", str(size), src], check=True)
        in_mb = os.path.getsize(src) / MB
        ours, py_total, py_inproc = [], [], []
        for run in range(args.runs + 1):   # the first run of each warms the page cache
            for path in (ours_out, py_out):
                if os.path.exists(path):
                    os.unlink(path)
            os.sync()
            dt, _ = wall([args.adapt, src, "-o", ours_out, "--dtype", "float16"])
            ours.append(dt)
            os.sync()
            dt, out = wall([PY, __file__, "convert", src, py_out])
            py_total.append(dt)
            py_inproc.append(float(out.split()[3]))
            log(f"  run {run}: ours {ours[-1]:.3f} s, python {py_inproc[-1]:.3f} s in-process "
                f"({py_total[-1]:.3f} s with interpreter start and import torch)")
        subprocess.run([PY, __file__, "check", ours_out, py_out], check=True)
        log("  outputs are bit-identical")
        o, pi, pt = min(ours[1:]), min(py_inproc[1:]), min(py_total[1:])
        label = f"{in_mb:.0f} MB fp32 -> fp16"
        rows.append((label, f"{o:.3f} s", f"{pi:.3f} s", f"{pi / o:.2f}x", f"{pt:.3f} s", f"{pt / o:.2f}x",
                     "yes" if pi / o >= 3 else "NO"))
        for path in (src, ours_out, py_out):
            os.unlink(path)
    load = os.getloadavg()
    print(f"sg-ckpt-adapt IN -o OUT --dtype float16 vs Python torch.load + .half() + torch.save; best of "
          f"{args.runs} after a warm-up run; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{platform.machine()}; ours includes process start and fsync (atomic write), torch.save does not fsync.\n")
    print("| conversion | sg-ckpt-adapt (process) | Python (load+half+save) | ratio | Python process (incl. import torch) | ratio | >= 3x |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] in ("make", "convert", "check"):
        cmd, rest = sys.argv[1], sys.argv[2:]
        if cmd == "make":
            cmd_make(int(rest[0]), rest[1])
        elif cmd == "convert":
            cmd_convert(rest[0], rest[1])
        else:
            cmd_check(rest[0], rest[1])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--sizes", default="1000")
    b.add_argument("--work", required=True)
    b.add_argument("--adapt", required=True)
    b.add_argument("--runs", type=int, default=3)
    cmd_bench(p.parse_args())


if __name__ == "__main__":
    main()
