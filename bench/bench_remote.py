#!/usr/bin/python3
"""Remote-checkpoint benchmark driver for scripts/bench-remote (run that, not this).

A torch.save checkpoint of --size MB is put in a real S3 server on loopback (npm's s3rver,
as in the tests). In one run, and counting what the server sent (wchar of its /proc/PID/io:
its replies and its log), it times:
  - sg-ckpt-inspect --json s3://... : ranged reads of the end records, directory and pickle;
  - sg-ckpt-inspect --json --hash s3://... : the file downloaded whole, every tensor hashed;
  - Python: rclone copyto, then torch.load and a listing (bench/torch_io.py list);
  - the physical reference: rclone copyto of the file.
Each is best of --reps, in a fresh process; the listing is checked to name every tensor the
Python listing names. Progress goes to stderr, the markdown table to stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "python"))
import remote_servers  # noqa: E402

PY = "/usr/bin/python3"
TORCH_IO = os.path.join(HERE, "torch_io.py")
T0 = time.perf_counter()


def log(msg):
    sys.stderr.write(f"[bench-remote {time.perf_counter() - T0:6.1f}s] {msg}\n")
    sys.stderr.flush()


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"bench-remote: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
    return p.stdout


def measure(server, steps, reps, fresh):
    """Best wall time of `reps` runs of steps() and the bytes the server sent in that run;
    `fresh` is removed before each (rclone copyto skips a file it finds already there)."""
    best = None
    for _ in range(reps):
        if os.path.exists(fresh):
            os.remove(fresh)
        before = server.bytes_written()
        t = time.perf_counter()
        steps()
        dt = time.perf_counter() - t
        sent = server.bytes_written() - before
        if best is None or dt < best[0]:
            best = (dt, sent)
    return best


def fmt_bytes(n):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True, help="checkpoint size in MB")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", required=True)
    ap.add_argument("--inspect", required=True)
    args = ap.parse_args()

    shapes, ckpt, fetched = (os.path.join(args.work, n) for n in ("shapes.txt", "ckpt.pth", "fetched.pth"))
    run([PY, TORCH_IO, "shapes", str(args.size), shapes])
    run([PY, TORCH_IO, "save", shapes, ckpt])
    size = os.path.getsize(ckpt)
    log(f"checkpoint: {size} bytes")

    with remote_servers.S3Server(os.path.join(args.work, "s3")) as s3:
        remote_servers.rclone("copyto", ckpt, s3.remote("runs/ckpt.pth"))
        url, env = s3.url("runs/ckpt.pth"), remote_servers.clean_env(s3.env)
        listing = {}

        def ours():
            listing["doc"] = json.loads(run([args.inspect, "--json", url], env=env))

        def ours_hash():
            run([args.inspect, "--json", "--hash", url], env=env)

        def download():
            remote_servers.rclone("copyto", s3.remote("runs/ckpt.pth"), fetched)

        def python():
            download()
            listing["python"] = run([PY, TORCH_IO, "list", fetched])

        rows = []
        for name, steps in (("sg-ckpt-inspect --json s3://... (ranged reads)", ours),
                            ("sg-ckpt-inspect --json --hash s3://... (downloads, hashes every tensor)", ours_hash),
                            ("Python: rclone copyto, then torch.load and list the tensors", python),
                            ("ref: rclone copyto (download the file)", download)):
            log(name)
            dt, sent = measure(s3, steps, args.reps, fetched)
            rows.append((name, dt, sent))

    ours_names = {t["path"] for t in listing["doc"]["files"][0]["tensors"]}
    py_names = {line.split("\t")[0] for line in listing["python"].splitlines() if line}
    if ours_names != py_names:
        raise SystemExit(f"bench-remote: the listings differ: {sorted(ours_names ^ py_names)[:5]}")
    log(f"both listings name the same {len(py_names)} tensors")

    ref = rows[-1]
    print(f"| operation ({fmt_bytes(size)} checkpoint on s3rver, loopback) | wall | server sent | time vs download |")
    print("|---|---|---|---|")
    for name, dt, sent in rows:
        print(f"| {name} | {dt * 1000:.0f} ms | {fmt_bytes(sent)} | {dt / ref[1]:.2f}x |")


if __name__ == "__main__":
    main()
