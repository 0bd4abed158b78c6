"""Small files that cost a lot to read: refused fast, in bounded memory, by every reader.

The pickles are hand-built byte strings (attacks, not torch files):
  empty_dicts_deflated  20M EMPTY_DICT opcodes deflated to about 20 KB (inflates 1000:1)
  memo_deflated         one dict memoised, fetched 10M times into a list, deflated
  shared_nested         {"x": [[[1] * 97] * 1000] * 1000}: 4 KB (286 bytes deflated) that
  shared_nested_deflated  a tree walk sees as 99M nodes, within the old 100M-node limit
  ordered_dict_copies   OrderedDict(the same 10k pairs) 5000 times: 75 KB, 50M items
For each, `sg-ckpt-inspect FILE`, `sg-ckpt-inspect --json --hash FILE`,
`sg-ckpt-adapt FILE -o OUT` and `pth_roundtrip FILE OUT` must exit 2 with one line
`<prog>: error: FILE: <reason>` naming the budget that refused it, print no description,
write nothing, and use at most PEAK_RSS of memory beyond what it shares with this Python
process when forked (under RLIMIT_AS, as in test_hostile_files). A real checkpoint read by the same programs (a torchvision ResNet-50
with SGD momentum state, made by torch.save here) stays readable and hashes as torch sees it.
"""

import collections
import io
import os
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
import make_fixtures as mf  # noqa: E402

TIMEOUT = 30
AS_LIMIT = 2 << 30
PEAK_RSS_KB = 128 << 10
if os.environ.get("SG_SANITIZED") == "1":
    # ASan cannot start under RLIMIT_AS and its shadow memory and quarantine are counted in
    # the peak (see test_hostile_files.py); its per-allocation limit stands in for both.
    AS_LIMIT = None
    PEAK_RSS_KB = None
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":max_allocation_size_mb=2048"

# Words a refusal by a budget uses (internal/pickle_budget.cpp).
BUDGET_WORDS = ("zip bomb", "bytes of memory", "expands to more than", "keys collide")


def checkpoint_zip(pickle_bytes, deflate):
    """A torch.save-shaped zip around a hand-built data.pkl."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(2020, 1, 1, 0, 0, 0)), pickle_bytes,
                   compress_type=method, compresslevel=9 if deflate else None)
        z.writestr(zipfile.ZipInfo("archive/version", date_time=(2020, 1, 1, 0, 0, 0)), b"3\n")
    return b.getvalue()


def short_str(text):
    t = text.encode()
    return b"X" + struct.pack("<I", len(t)) + t


def bombs():
    n = 20_000_000
    empty_dicts = b"\x80\x02" + b"}" * n + b"."
    # d = {}; memo[0] = d; [d] * 10M
    memo = b"\x80\x02}q\x000(" + b"h\x00" * (n // 2) + b"l."
    # inner = [1] * 97; middle = [inner] * 1000; {"x": [middle] * 1000}
    shared = (b"\x80\x02}" + short_str("x") + b"(" + b"K\x01" * 97 + b"lq\x000" +
              b"(" + b"h\x00" * 1000 + b"lq\x010" + b"(" + b"h\x01" * 1000 + b"ls.")
    # pairs = [(0, None), ..., (9999, None)]; [OrderedDict(pairs) for _ in range(5000)]
    copies = (b"\x80\x02]q\x00(" + b"".join(b"M" + struct.pack("<H", i) + b"N\x86" for i in range(10000)) +
              b"e0]q\x01(" + b"ccollections\nOrderedDict\nq\x02" + b"h\x00\x85R" +
              b"h\x02h\x00\x85R" * 4999 + b"e.")
    return {
        "empty_dicts_deflated.pth": checkpoint_zip(empty_dicts, True),
        "memo_deflated.pth": checkpoint_zip(memo, True),
        "shared_nested.pth": checkpoint_zip(shared, False),
        "shared_nested_deflated.pth": checkpoint_zip(shared, True),
        "ordered_dict_copies.pth": checkpoint_zip(copies, True),
    }


def check_refusal(c, r, prog, fname, what, inherited_kb):
    if not c.check(not r.timed_out and r.rc == 2, "%s: expected exit 2: %s" % (what, r.describe())):
        return
    lines = r.err.split("\n")
    if not c.check(r.err.endswith("\n") and len(lines) == 2,
                   "%s: stderr must be one line: %s" % (what, sgtest.short(r.err, 400))):
        return
    prefix = "%s: error: %s: " % (prog, fname)
    c.check(lines[0].startswith(prefix), "%s: stderr %r does not start with %r" % (what, lines[0], prefix))
    c.check(any(w in lines[0] for w in BUDGET_WORDS),
            "%s: the reason names no budget (%s): %r" % (what, " / ".join(BUDGET_WORDS), lines[0]))
    if PEAK_RSS_KB is not None:
        c.check(r.max_rss_kb <= inherited_kb + PEAK_RSS_KB, "%s: peak memory %d MiB, more than %d + %d MiB" % (
            what, r.max_rss_kb >> 10, inherited_kb >> 10, PEAK_RSS_KB >> 10))


def check_bombs(c, args, work):
    bdir = sgtest.fresh_dir(os.path.join(work, "bombs"))
    out_dir = sgtest.fresh_dir(os.path.join(work, "out"))
    made = bombs()
    for fname, data in made.items():
        with open(os.path.join(bdir, fname), "wb") as f:
            f.write(data)
    before = sgtest.dir_snapshot(bdir)
    out_pth = os.path.join(out_dir, "out.pth")
    inherited_kb = sgtest.inherited_rss_kb()
    for fname in made:
        runs = [
            ("sg-ckpt-inspect", [args.inspect, fname], "sg-ckpt-inspect " + fname),
            ("sg-ckpt-inspect", [args.inspect, "--json", "--hash", fname], "sg-ckpt-inspect --json --hash " + fname),
            ("sg-ckpt-adapt", [args.adapt, fname, "-o", out_pth], "sg-ckpt-adapt %s -o OUT" % fname),
            ("pth_roundtrip", [args.roundtrip, fname, out_pth], "pth_roundtrip %s OUT" % fname),
        ]
        for prog, cmd, what in runs:
            r = sgtest.run(cmd, timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=bdir)
            check_refusal(c, r, prog, fname, what, inherited_kb)
            if prog == "sg-ckpt-inspect":
                described = r.out.strip() and fname in r.out
                c.check(not described, "%s: stdout describes the refused file: %s" % (what, sgtest.short(r.out, 300)))
            left = os.listdir(out_dir)
            c.check(not left, "%s: wrote %s" % (what, left))
            for n in left:
                os.remove(os.path.join(out_dir, n))
            if args.verbose:
                print("%-58s rc=%s peak <= %4d MiB  %s" % (what, r.rc, (r.max_rss_kb or 0) >> 10, r.err.strip()[-80:]))
    c.check(sgtest.dir_snapshot(bdir) == before, "the bomb folder changed while reading it")


def check_real_checkpoint(c, args, work):
    """A ResNet-50 with SGD momentum, as SG saves it: read in full by every program."""
    import torchvision
    d = sgtest.fresh_dir(os.path.join(work, "real"))
    torch.manual_seed(0)
    model = torchvision.models.resnet50()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 64, 64)).sum().backward()
    opt.step()
    ckpt = collections.OrderedDict(net=model.state_dict(), optimizer_state_dict=opt.state_dict(), epoch=3, acc=0.5)
    path = os.path.join(d, "resnet50.pth")
    torch.save(ckpt, path)
    doc, r = sgtest.run_json(c, [args.inspect, "--json", "--hash", path], "resnet50 --json --hash",
                             timeout=120, as_limit=AS_LIMIT)
    if doc is not None:
        got = {t["path"]: t["sha256"] for t in doc["files"][0]["tensors"]}
        expected = {"net/" + k: mf.tensor_sha256(v) for k, v in ckpt["net"].items()}
        for i, s in opt.state_dict()["state"].items():
            expected["optimizer_state_dict/state/%d/momentum_buffer" % i] = mf.tensor_sha256(s["momentum_buffer"])
        c.eq(got, expected, "resnet50 --json --hash: tensor paths and hashes")
    out = os.path.join(d, "out.pth")
    for cmd in ([args.adapt, path, "-o", out], [args.roundtrip, path, out]):
        r = sgtest.run(cmd, timeout=120, as_limit=AS_LIMIT)
        if c.check(r.rc == 0, "resnet50: %s" % r.describe()):
            back = torch.load(out)
            c.check(list(back) == list(ckpt) and all(torch.equal(back["net"][k], v) for k, v in ckpt["net"].items()),
                    "resnet50: %s does not load back equal" % os.path.basename(cmd[0]))
            os.remove(out)


def main():
    def extra(p):
        p.add_argument("--adapt", required=True, help="path of the built sg-ckpt-adapt")
    args = sgtest.parse_args(__doc__, need_inspect=True, need_roundtrip=True, extra=extra)
    args.inspect, args.adapt, args.roundtrip = (os.path.abspath(p) for p in (args.inspect, args.adapt, args.roundtrip))
    work = sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_budget_bombs")
    check_bombs(c, args, work)
    check_real_checkpoint(c, args, work)
    c.report()


if __name__ == "__main__":
    main()
