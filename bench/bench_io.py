#!/usr/bin/python3
"""Checkpoint I/O benchmark driver for scripts/bench-io (run that, not this).

Measures, in one run and on the same tensors, lib/pth (bench/pth_bench) against Python
PyTorch (bench/torch_io.py), plus cp as the physical reference, and prints one markdown
table. Progress goes to stderr, the table to stdout.
"""
import argparse
import os
import platform
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_io  # noqa: E402  (shape list; imports torch only inside its commands)

PY = "/usr/bin/python3"          # Debian's Python, the one with torch
TORCH_IO = os.path.join(HERE, "torch_io.py")
MB = 1_000_000
T0 = time.perf_counter()


def logger(program):
    """A progress printer for stderr, each line stamped with the seconds since the start."""
    def log(msg):
        sys.stderr.write(f"[{program} {time.perf_counter() - T0:6.1f}s] {msg}\n")
        sys.stderr.flush()
    return log


log = logger("bench-io")


def output_of(cmd, program="bench-io"):
    """The stdout of a command that must succeed; its failure ends the benchmark."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{program}: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
    return p.stdout


def print_table(head, rows):
    """A markdown table on stdout."""
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def run_lines(cmd):
    """Runs a timing command; returns [(seconds, bytes)] from its 'SECONDS BYTES' lines."""
    rows = []
    for line in output_of(cmd).splitlines():
        s, b = line.split()
        rows.append((float(s), int(b)))
    return rows


def best_after_warmup(rows, what, expect_bytes):
    """Drops the first (warm-up) run, returns the best of the rest; checks the byte count."""
    for _, b in rows:
        if b != expect_bytes:
            raise SystemExit(f"bench-io: {what} handled {b} tensor bytes, expected {expect_bytes}")
    times = [s for s, _ in rows[1:]]
    log(f"  {what}: " + " ".join(f"{s:.3f}" for s, _ in rows) + f"  (first is warm-up) -> best {min(times):.3f} s")
    return min(times)


def timed_process(cmd):
    """Wall time and peak RSS (KiB, from wait4's rusage of exactly this child) of a process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status, usage = os.wait4(p.pid, 0)
    except BaseException:
        p.kill()
        raise
    dt = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        raise SystemExit(f"bench-io: {' '.join(cmd)} failed ({p.returncode}): {err}")
    return dt, usage.ru_maxrss


def gnu_time_rss_kib(cmd):
    """Peak RSS (KiB) as /usr/bin/time -f %M reports it, or None without GNU time."""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench-io: {' '.join(cmd)} failed under /usr/bin/time: {p.stderr}")
    return int(p.stderr.strip().splitlines()[-1])


def cp_times(src, dst, with_fsync, runs=3):
    times = []
    for _ in range(runs):
        if os.path.exists(dst):
            os.unlink(dst)
        os.sync()
        t = time.perf_counter()
        subprocess.run(["cp", src, dst], check=True)
        if with_fsync:
            fd = os.open(dst, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        times.append(time.perf_counter() - t)
    os.unlink(dst)
    return times


def fmt_time(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def verdict(ok):
    return "met" if ok else "**missed**"


def machine_notes(work):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    fs = subprocess.run(["df", "--output=fstype", work], stdout=subprocess.PIPE, text=True).stdout.split()[-1]
    torch_ver = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"],
                               stdout=subprocess.PIPE, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, {fs} at {work}; PyTorch {torch_ver} ({PY})"


def main():
    # SIGTERM (from scripts/bench-io's cleanup) becomes SystemExit, so subprocess.run kills
    # the benchmark process it is waiting for before we go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="400,1000")
    ap.add_argument("--work", required=True)
    ap.add_argument("--pth-bench", required=True)
    ap.add_argument("--inspect", required=True)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    load_start = os.getloadavg()[0]
    work = args.work
    inspect_size = max(sizes)

    rows = []          # table rows
    checks = []        # sanity findings
    profiles = []

    for size in sizes:
        log(f"== {size} MB state dict")
        shapes_file = os.path.join(work, f"shapes-{size}.txt")
        shapes = torch_io.make_shapes(size)
        torch_io.write_shapes(shapes_file, shapes)
        expect = sum(torch_io.numel(s) for _, s in shapes) * 4
        ours_file = os.path.join(work, f"ours-{size}.pt")
        py_file = os.path.join(work, f"torch-{size}.pt")
        label = f"{expect / MB:.0f} MB"
        log(f"  {len(shapes)} float32 tensors, {expect} bytes")

        # save: 1 warm-up + 3 measured runs in one process each side
        ours_save = best_after_warmup(run_lines([args.pth_bench, "save", shapes_file, ours_file, "--repeat", "4"]),
                                      "ours save (write_checkpoint, fsync)", expect)
        py_save = best_after_warmup(run_lines([PY, TORCH_IO, "save", shapes_file, py_file, "--repeat", "4"]),
                                    "torch.save", expect)
        ours_size, py_size = os.path.getsize(ours_file), os.path.getsize(py_file)
        for name, sz in (("ours", ours_size), ("torch.save", py_size)):
            if not (expect <= sz <= expect + expect // 100 + MB):
                raise SystemExit(f"bench-io: {name} file is {sz} bytes for {expect} bytes of tensors")
        checks.append(f"{label}: files {ours_size} B (ours) / {py_size} B (torch.save) for {expect} B of tensors")
        leftovers = [f for f in os.listdir(work) if ".tmp-" in f]
        if leftovers:
            raise SystemExit(f"bench-io: write_checkpoint left temp files: {leftovers}")

        log("  checking torch.load(ours) == torch.load(torch.save's) == expected fill")
        p = subprocess.run([PY, TORCH_IO, "check", shapes_file, ours_file, py_file],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise SystemExit(f"bench-io: content check failed:\n{p.stdout}")
        checks.append(f"{label}: {p.stdout.strip().splitlines()[-1]} (torch.load of our file equals torch.save's)")

        # physical reference: cp of torch.save's file (page cache -> page cache), and with fsync
        copy = os.path.join(work, f"copy-{size}.pt")
        cp = min(cp_times(py_file, copy, with_fsync=False))
        cp_sync = min(cp_times(py_file, copy, with_fsync=True))
        log(f"  cp: {cp:.3f} s, cp+fsync: {cp_sync:.3f} s (best of 3)")

        # load: both sides read torch.save's file, which is in the page cache
        # One load per process: a loop in one process lets glibc's malloc hand back memory
        # freed by the previous load (its mmap threshold grows after frees), so later
        # torch.load runs skip most page faults (measured: 0.17 s -> 0.045 s on 400 MB).
        # A real load gets fresh memory, so each run is a fresh process on both sides.
        def ours(mode, what, unchecked=False):
            cmd = [args.pth_bench, "load", py_file, "--mode", mode] + (["--unchecked"] if unchecked else [])
            return best_after_warmup(sum((run_lines(cmd) for _ in range(4)), []),
                                     what + (", CRC not checked" if unchecked else ""), expect)

        # Into new memory (memcpy from the mapping after each record's CRC pass), used
        # where the file is mapped (our tools: the CRC pass reads every byte), and into
        # existing tensors (resuming, evaluating: what load_state_dict does after
        # torch.load; pread with the CRC over the bytes copied); each also with the CRC
        # left unchecked, as the reader was before it checked them.
        ours_load, ours_load_raw = (ours("fresh", "ours load (read_checkpoint + copy into huge pages)", u) for u in (False, True))
        py_load = best_after_warmup(sum((run_lines([PY, TORCH_IO, "load", py_file]) for _ in range(4)), []),
                                    "torch.load", expect)
        ours_map, ours_map_raw = (ours("map", "ours load (mapped, every page touched)", u) for u in (False, True))
        ours_into, ours_into_raw = (ours("into", "ours load into existing buffers", u) for u in (False, True))
        py_into = best_after_warmup(sum((run_lines([PY, TORCH_IO, "load-into", py_file]) for _ in range(4)), []),
                                    "torch.load + copy_ into existing tensors", expect)

        mbs = lambda s: py_size / MB / s  # noqa: E731
        rows.append(("save", label, fmt_time(ours_save), fmt_time(py_save), f"{py_save / ours_save:.2f}x",
                     f">= 0.95x cp + fsync: {verdict(cp_sync / ours_save >= 0.95)}", f"{mbs(ours_save):.0f} / {mbs(py_save):.0f}"))
        rows.append(("  ref: cp of the file", label, fmt_time(cp), "", "", "", f"{mbs(cp):.0f}"))
        rows.append(("  ref: cp + fsync", label, fmt_time(cp_sync), "", f"{cp_sync / ours_save:.2f}x (cp+fsync / ours)",
                     "", f"{mbs(cp_sync):.0f}"))
        for name, checked, raw, py, target in (("load into fresh memory", ours_load, ours_load_raw, py_load, 2),
                                               ("load, used in place (mapped)", ours_map, ours_map_raw, py_load, 3),
                                               ("load into existing tensors", ours_into, ours_into_raw, py_into, 3)):
            rows.append((name, label, fmt_time(checked), fmt_time(py), f"{py / checked:.2f}x",
                         f">= {target}x: {verdict(py / checked >= target)}", f"{mbs(checked):.0f} / {mbs(py):.0f}"))
            rows.append(("  same, CRC not checked", label, fmt_time(raw), fmt_time(py), f"{py / raw:.2f}x",
                         f"check costs {checked / raw - 1:+.0%}", f"{mbs(raw):.0f} / {mbs(py):.0f}"))

        if args.profile:
            for cmd in (["profile-save", shapes_file, ours_file], ["profile-load", py_file]):
                p = subprocess.run([args.pth_bench] + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                profiles.append(f"pth_bench {cmd[0]} ({label}):\n{p.stdout}")

        if size == inspect_size:
            log(f"  inspect on {py_file}")
            ours_cmd = [args.inspect, "--json", py_file]
            py_cmd = [PY, TORCH_IO, "list", py_file]
            timed_process(ours_cmd)                       # warm-up
            ours = [timed_process(ours_cmd) for _ in range(5)]
            timed_process(py_cmd)
            pys = [timed_process(py_cmd) for _ in range(5)]
            ours_t, py_t = min(t for t, _ in ours), min(t for t, _ in pys)
            ours_rss = gnu_time_rss_kib(ours_cmd) or max(r for _, r in ours)
            py_rss = gnu_time_rss_kib(py_cmd) or max(r for _, r in pys)
            log(f"  inspect: {[round(t * 1000, 1) for t, _ in ours]} ms, python list: {[round(t, 2) for t, _ in pys]} s")
            # the listing must name the same tensors
            ours_json = subprocess.run(ours_cmd, stdout=subprocess.PIPE, check=True).stdout
            py_list = subprocess.run(py_cmd, stdout=subprocess.PIPE, check=True, text=True).stdout.splitlines()
            missing = [ln.split("\t")[0] for ln in py_list if ('"' + ln.split("\t")[0] + '"').encode() not in ours_json]
            checks.append(f"inspect: Python lists {len(py_list)} tensors; sg-ckpt-inspect --json names "
                          f"{len(py_list) - len(missing)} of them ({len(ours_json)} bytes of JSON)")
            rows.append(("inspect --json (wall, whole process)", label, fmt_time(ours_t), fmt_time(py_t),
                         f"{py_t / ours_t:.0f}x", f"< 50 ms: {verdict(ours_t < 0.050)}", ""))
            rows.append(("inspect --json (peak RSS)", label, f"{ours_rss / 1024:.1f} MiB", f"{py_rss / 1024:.0f} MiB",
                         f"{py_rss / ours_rss:.0f}x", f"< 30 MB: {verdict(ours_rss * 1024 < 30 * MB)}", ""))

        for f in (ours_file, py_file, shapes_file):
            os.unlink(f)

    print_table(("operation", "size", "ours", "python", "ratio (python/ours)", "target", "MB/s (ours / python)"), rows)
    print()
    print(f"Best of 3 after one warm-up (inspect: best of 5; each load in a fresh process); save = `pth::write_checkpoint` (temp file, fsync, "
          f"rename, fsync dir; writeback started every 8 MB as the file is written) vs `torch.save` (no fsync); "
          f"load into fresh memory = `read_checkpoint` + `copy_range` of every storage (pread, each record's CRC "
          f"over the bytes as they land) into new memory, huge pages for storages of 4 MiB and more (what "
          f"sg-train/sg-eval's `to_torch_all` does), storages spread over up to four threads, vs `torch.load`, file in page cache; used in place = `read_checkpoint` + the "
          f"CRC check of every record (reads every byte of the mapping) + one read per page (how our tools use "
          f"tensors) vs `torch.load`; into existing tensors = destination allocated and touched before the clock "
          f"on both sides, then `read_checkpoint` + `copy_range` (pread, each record's CRC computed over the bytes "
          f"as they land; up to four threads, as sg's `load_state_dict_into`) vs `torch.load` + `copy_`; CRC not checked = the "
          f"same from the zip records directly, as the reader was before it checked CRCs; inspect = "
          f"`sg-ckpt-inspect --json` vs "
          f"`torch.load` + listing, peak RSS via "
          f"{'/usr/bin/time -f %M' if os.access('/usr/bin/time', os.X_OK) else 'wait4 rusage'}. "
          f"MB/s = file size / time.")
    load_end = os.getloadavg()[0]
    print(f"Machine: {machine_notes(work)}; 1-min load average {load_start:.1f} at start, {load_end:.1f} at end "
          f"(anything else running skews the numbers). Reproduce: `scripts/bench-io --sizes {args.sizes}`.")
    print()
    for c in checks:
        print(f"- check: {c}")
    for p in profiles:
        print()
        print(p.rstrip())


if __name__ == "__main__":
    main()
