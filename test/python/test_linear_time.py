"""Describing, hashing, diffing and converting cost work linear in the keys and tensors.

Files made here: a torch.save checkpoint A with N top-level keys (N - 1 ints and "net", a
state dict of N / 20 tensors viewing one storage), B = A with two scalars and one tensor
changed, one scalar removed and one scalar and one tensor added, and a safetensors file
(written with json + struct) of S tensors.

1. Outputs at full size (N = 200000, S = 1000000) are checked against torch and Python:
   sg-ckpt-inspect A (its summary line), --json --hash A (keys, scalars, every tensor's
   path, dtype, shape and SHA-256), --stats A (every tensor's statistics), --diff --json A B,
   sg-ckpt-adapt A --add-prefix --dtype float16 (torch.load of the result), pth_roundtrip A
   (torch.load), sg-ckpt-adapt on the safetensors file to safetensors (read back here) and,
   at the smaller size of part 2, to .pth (torch.load).
2. Work grows linearly: the same commands run under valgrind's callgrind at two sizes
   (N = S = 10000 and 40000 by default) and the instructions it counts may grow at most
   5x for 4x the keys (n log n gives about 4.6x here, n^2 16x). The counts are a property
   of the programs, not of how busy the machine is. Not under SG_SANITIZED (valgrind cannot
   run ASan programs).
"""

import array
import collections
import json
import os
import re
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
import make_fixtures as mf  # noqa: E402

SANITIZED = os.environ.get("SG_SANITIZED") == "1"
MAX_GROWTH = 5.0
COUNT_TIMEOUT = 900   # one program under callgrind (about 50 times slower than without)


# --- the files --------------------------------------------------------------------------

def checkpoint_objects(n):
    """A and B as Python objects (B's changes listed in the module docstring)."""
    tensors = max(n // 20, 2)
    base = torch.arange(2 * tensors, dtype=torch.float32)
    net = collections.OrderedDict(("layer%d.weight" % i, base[2 * i:2 * i + 2]) for i in range(tensors))
    a = collections.OrderedDict([("net", net)] + [("k%d" % i, i) for i in range(1, n)])
    base_b = base.clone()
    base_b[10] += 0.5   # layer5.weight
    net_b = collections.OrderedDict(("layer%d.weight" % i, base_b[2 * i:2 * i + 2]) for i in range(tensors))
    net_b["layer_new.weight"] = torch.ones(3)
    b = collections.OrderedDict(a)
    b["net"] = net_b
    b["k1"] = -1
    b["k3"] = "three"
    del b["k2"]
    b["extra"] = 7
    return a, b


def write_safetensors(path, count):
    """count float32 tensors of shape [1], named t0..., values 0..count-1, metadata format=pt."""
    parts = ['"__metadata__":{"format":"pt"}']
    parts += ['"t%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}' % (i, 4 * i, 4 * i + 4) for i in range(count)]
    header = ("{" + ",".join(parts) + "}").encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.write(array.array("f", range(count)).tobytes())


def read_safetensors(path):
    """(header dict in file order, data bytes)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n), object_pairs_hook=collections.OrderedDict)
        return header, f.read()


def make_files(d, n, st_count):
    a, b = checkpoint_objects(n)
    paths = {"a": os.path.join(d, "a.pth"), "b": os.path.join(d, "b.pth"), "st": os.path.join(d, "st.safetensors")}
    torch.save(a, paths["a"])
    torch.save(b, paths["b"])
    write_safetensors(paths["st"], st_count)
    return a, b, paths


def commands(prog, paths, out):
    """The commands of both parts: (name, argv, expected exit status)."""
    return [
        ("inspect", [prog.inspect, paths["a"]], 0),
        ("inspect --json --hash", [prog.inspect, "--json", "--hash", paths["a"]], 0),
        ("inspect --stats", [prog.inspect, "--json", "--stats", paths["a"]], 0),
        ("inspect --diff", [prog.inspect, "--diff", "--json", paths["a"], paths["b"]], 1),
        ("adapt pth", [prog.adapt, paths["a"], "-o", out("adapted.pth"), "--add-prefix", "m.", "--dtype", "float16"], 0),
        ("roundtrip", [prog.roundtrip, paths["a"], out("roundtrip.pth")], 0),
        ("adapt safetensors", [prog.adapt, paths["st"], "-o", out("adapted.safetensors"), "--add-prefix", "m."], 0),
        ("adapt safetensors to pth", [prog.adapt, paths["st"], "-o", out("from_st.pth")], 0),
    ]


# --- part 1: the outputs ----------------------------------------------------------------

def expected_stats(t):
    v = t.double()
    return {"count": t.numel(), "nan": 0, "inf": 0, "min": float(v.min()), "max": float(v.max()), "mean": float(v.mean())}


def check_outputs(c, a, b, paths, results, outdir):
    net = a["net"]
    name = os.path.basename(paths["a"])
    first = results["inspect"].out.split("\n")[0]
    c.eq(first, "%s: zip (root 'a', version 3), %d keys, %d tensors" % (paths["a"], len(a), len(net)), "inspect summary")

    doc = json.loads(results["inspect --json --hash"].out)["files"][0]
    c.eq(doc["keys"], list(a), "--json --hash: keys in order")
    c.eq(doc["scalars"], {k: v for k, v in a.items() if k != "net"}, "--json --hash: scalars")
    got = [(t["path"], t["dtype"], t["shape"], t["sha256"]) for t in doc["tensors"]]
    c.eq(got, [("net/" + k, "float32", list(t.shape), mf.tensor_sha256(t)) for k, t in net.items()],
         "--json --hash: tensors (path, dtype, shape, sha256)")

    doc = json.loads(results["inspect --stats"].out)["files"][0]
    c.eq([t["stats"] for t in doc["tensors"]], [expected_stats(t) for t in net.values()], "--stats of every tensor")

    diff = json.loads(results["inspect --diff"].out)["diff"]
    c.eq({k: diff[k] for k in ("identical", "added", "removed", "changed", "value_changed", "scalars_changed")}, {
        "identical": False, "added": ["net/layer_new.weight"], "removed": [], "changed": [],
        "value_changed": [{"path": "net/layer5.weight", "max_abs_diff": 0.5}],
        "scalars_changed": [{"path": "k1", "a": 1, "b": -1}, {"path": "k2", "a": 2}, {"path": "k3", "a": 3, "b": "three"},
                            {"path": "extra", "b": 7}]}, "--diff --json A B")   # A's paths in order, then B's own

    adapted = torch.load(os.path.join(outdir, "adapted.pth"))
    c.eq(list(adapted), list(a), "adapt pth: top-level keys")
    c.eq(list(adapted["net"]), ["m." + k for k in net], "adapt pth: net keys prefixed, in order")
    c.check(all(adapted["net"]["m." + k].dtype == torch.float16 and torch.equal(adapted["net"]["m." + k], t.half())
                for k, t in net.items()), "adapt pth: net tensors are torch's .half()")
    c.check(all(adapted[k] == v for k, v in a.items() if k != "net"), "adapt pth: scalars kept")

    back = torch.load(os.path.join(outdir, "roundtrip.pth"))
    c.check(list(back) == list(a) and all(back[k] == v for k, v in a.items() if k != "net") and
            list(back["net"]) == list(net) and all(torch.equal(back["net"][k], t) for k, t in net.items()),
            "roundtrip: torch.load gives A back")


def check_safetensors(c, paths, outdir, count, to_pth):
    header, data = read_safetensors(paths["st"])
    header2, data2 = read_safetensors(os.path.join(outdir, "adapted.safetensors"))
    expected = collections.OrderedDict([("__metadata__", header["__metadata__"])] +
                                       [("m." + k, v) for k, v in header.items() if k != "__metadata__"])
    c.check(header2 == expected, "adapt safetensors: header (names prefixed, order, dtypes, shapes, offsets)")
    c.check(data2 == data, "adapt safetensors: data bytes")
    if to_pth:
        sd = torch.load(os.path.join(outdir, "from_st.pth"))
        c.check(list(sd) == ["t%d" % i for i in range(count)] and
                all(torch.equal(t, torch.tensor([float(i)])) for i, t in enumerate(sd.values())),
                "adapt safetensors to pth: torch.load gives the tensors in order")


def part_outputs(c, prog, work, n, st_count):
    d = sgtest.fresh_dir(os.path.join(work, "full"))
    a, b, paths = make_files(d, n, st_count)
    out = lambda f: os.path.join(d, f)  # noqa: E731
    results = {}
    for what, cmd, rc in commands(prog, paths, out):
        if what == "adapt safetensors to pth":
            continue   # a million zip records for torch.load: checked at part 2's size
        r = sgtest.run(cmd, timeout=600)
        results[what] = r
        c.check(r.rc == rc, "%s at full size: expected exit %d: %s" % (what, rc, r.describe()))
        if prog.verbose:
            print("%-26s N=%d S=%d: %.2f s, peak <= %d MiB" % (what, n, st_count, r.seconds, r.max_rss_kb >> 10))
    if prog.verbose:
        print_python_reference(paths)
    if all(r.rc is not None for r in results.values()) and not c.failures:
        check_outputs(c, a, b, paths, results, d)
        check_safetensors(c, paths, d, st_count, to_pth=False)


def print_python_reference(paths):
    """For the README: what reading the same files takes in Python (-v only)."""
    import time
    t0 = time.time()
    torch.load(paths["a"])
    t1 = time.time()
    read_safetensors(paths["st"])
    t2 = time.time()
    print("%-26s %.2f s\n%-26s %.2f s" % ("python: torch.load A", t1 - t0, "python: json+struct of S", t2 - t1))


# --- part 2: the work -------------------------------------------------------------------

def instructions(c, cmd, rc, what):
    """Instructions callgrind counts for cmd (all threads), or None."""
    r = sgtest.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd, timeout=COUNT_TIMEOUT)
    found = re.search(r"Collected : (\d+)", r.err)
    if not c.check(r.rc == rc and found, "%s under callgrind: expected exit %d and a count: %s" % (what, rc, r.describe())):
        return None
    return int(found.group(1))


def part_counts(c, prog, work, sizes):
    counts = {}
    for n in sizes:
        d = sgtest.fresh_dir(os.path.join(work, "count_%d" % n))
        _, _, paths = make_files(d, n, n)
        out = lambda f: os.path.join(d, f)  # noqa: E731
        for what, cmd, rc in commands(prog, paths, out):
            counts[(what, n)] = instructions(c, cmd, rc, "%s at N=%d" % (what, n))
        if n == sizes[0]:
            check_safetensors(c, paths, d, n, to_pth=True)
    small, large = sizes
    for what, _, _ in commands(prog, {"a": "", "b": "", "st": ""}, lambda f: f):
        x, y = counts[(what, small)], counts[(what, large)]
        if x is None or y is None:
            continue
        growth = y / x
        if prog.verbose:
            print("%-26s %14d -> %14d instructions: %.2fx for %.0fx the keys" % (what, x, y, growth, large / small))
        c.check(growth <= MAX_GROWTH * large / small / 4,
                "%s: %d instructions at N=%d, %d at N=%d: %.2fx for %.0fx the keys (linear: at most %.1fx)" % (
                    what, x, small, y, large, growth, large / small, MAX_GROWTH * large / small / 4))


def main():
    def extra(p):
        p.add_argument("--adapt", required=True, help="path of the built sg-ckpt-adapt")
        p.add_argument("--keys", type=int, default=200000, help="N at full size")
        p.add_argument("--safetensors", type=int, default=1000000, help="S at full size")
        p.add_argument("--count-sizes", default="10000,40000", help="the two N (= S) counted under callgrind")
    args = sgtest.parse_args(__doc__, need_inspect=True, need_roundtrip=True, extra=extra)
    args.inspect, args.adapt, args.roundtrip = (os.path.abspath(p) for p in (args.inspect, args.adapt, args.roundtrip))
    work = sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_linear_time")
    part_outputs(c, args, work, args.keys, args.safetensors)
    if SANITIZED:
        print("test_linear_time: instruction counts not taken under ASan (SG_SANITIZED)")
    elif c.check(shutil.which("valgrind"), "valgrind is needed for the instruction counts (scripts/setup installs it)"):
        sizes = [int(s) for s in args.count_sizes.split(",")]
        part_counts(c, args, work, sizes)
    c.report()


if __name__ == "__main__":
    main()
