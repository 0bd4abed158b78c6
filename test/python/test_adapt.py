"""sg-ckpt-adapt against real PyTorch (Debian's 1.13 at /usr/bin/python3).

  - SG's ModelA/ModelB example: a Python-saved ModelA checkpoint adapted --like a ModelB
    template loads into ModelB with strict=True and identical weights; --strict on refuses
    with a report (exit 1, nothing written); off keeps only conv1, so does key_matching
    against a template whose conv2 has another shape; --model through a
    stand-in sg-model-template (SG_MODEL_TEMPLATE), and the error when there is none.
  - --average of three Python-written checkpoints equals torch's mean (1e-6), integer
    entries from the first; --dtype float16/bfloat16 equal tensor.half()/.bfloat16() bit
    for bit; a DDP state dict loads after --strip-prefix module. (and --like strips it).
  - safetensors output parsed by a small reader here (json + struct) with the same hashes
    as the tensors Python saved, read back by sg-ckpt-adapt into a .pth torch.load reads;
    malformed safetensors (overlapping offsets, bad JSON, header past EOF, ...) refused
    with exit 2 and one line; OUT/IN never overwritten without --force.
"""

import collections
import hashlib
import json
import os
import stat
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()


class ModelA(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)


class ModelB(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 5)
        self.CONV2 = torch.nn.Sequential(torch.nn.Conv2d(6, 16, 5))


class SmallNet(torch.nn.Module):
    """Conv + BN (an int64 num_batches_tracked) + Linear."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 4)


def sha(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return hashlib.sha256(t.numpy().tobytes()).hexdigest()


def bits16(t):
    return t.contiguous().view(torch.int16)


# --- a small safetensors reader (json + struct only) -----------------------------------
ST_DTYPES = {"F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2),
             "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
             "I16": (torch.int16, 2), "I8": (torch.int8, 1), "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = collections.OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        dtype, size = ST_DTYPES[info["dtype"]]
        numel = 1
        for d in info["shape"]:
            numel *= d
        assert len(raw) == numel * size, (name, len(raw), numel, size)
        out[name] = (info["dtype"], info["shape"], hashlib.sha256(raw).hexdigest(), raw)
    return n, meta, out


def safetensors_image(header, buffer, claimed=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if claimed is None else claimed) + h + buffer


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False,
                             paths=("adapt",))
    ck = sgtest.Checker("test_adapt")
    w = sgtest.fresh_dir(args.workdir)
    adapt = args.adapt
    P = lambda name: os.path.join(w, name)  # noqa: E731

    def run(*argv, expect=0, what=None):
        r = sgtest.run([adapt] + [str(a) for a in argv], timeout=120)
        ck.check(r.rc == expect, "%s: expected exit %d: %s" % (what or " ".join(map(str, argv)), expect, r.describe()))
        return r

    def one_error_line(r, path, what):
        lines = r.err.strip().splitlines()
        ck.check(len(lines) == 1 and lines[0].startswith("sg-ckpt-adapt: error: " + path + ": "),
                 "%s: want one line 'sg-ckpt-adapt: error: %s: ...', got %r" % (what, path, r.err))

    torch.manual_seed(0)
    a = ModelA()
    torch.save({"net": a.state_dict(), "epoch": 5, "acc": 0.625}, P("a.pth"))
    torch.save(ModelB().state_dict(), P("b_template.pth"))

    # --- ModelA -> ModelB, no_key_matching (default) ---------------------------------------
    run(P("a.pth"), "-o", P("ab.pth"), "--like", P("b_template.pth"))
    got = torch.load(P("ab.pth"))
    ck.eq(sorted(k for k in got if k != "net"), ["acc", "epoch"], "ab.pth: other keys kept")
    b = ModelB()
    try:
        b.load_state_dict(got["net"], strict=True)
        for (ka, ta), (kb, tb) in zip(a.state_dict().items(), b.state_dict().items()):
            ck.check(torch.equal(ta, tb), "ModelB %s != ModelA %s" % (kb, ka))
    except Exception as e:
        ck.fail("ModelB.load_state_dict(strict=True) of the adapted checkpoint: %s" % e)

    # --report --json: one document with the mapping
    r = run(P("a.pth"), "-o", P("ab2.pth"), "--like", P("b_template.pth"), "--report", "--json")
    try:
        doc = json.loads(r.out)
        ck.eq([(m["target"], m["source"]) for m in doc["match"]["mapping"]],
              [("conv1.weight", "conv1.weight"), ("conv1.bias", "conv1.bias"),
               ("CONV2.0.weight", "conv2.weight"), ("CONV2.0.bias", "conv2.bias")], "--json mapping")
        ck.eq(doc["match"]["by_position"], True, "--json by_position")
    except ValueError as e:
        ck.fail("--json: not one JSON document (%s): %r" % (e, r.out[:300]))

    # --strict on: exit 1, a report naming the keys, nothing written
    r = run(P("a.pth"), "-o", P("on.pth"), "--like", P("b_template.pth"), "--strict", "on", "--report", expect=1)
    for key in ("CONV2.0.weight", "CONV2.0.bias", "conv2.weight", "conv2.bias"):
        ck.check(key in r.out, "--strict on report names %s: %r" % (key, r.out))
    ck.check("missing" in r.out and "unexpected" in r.out, "--strict on report lists missing/unexpected")
    ck.check(not os.path.exists(P("on.pth")), "--strict on wrote a file")
    r = run(P("a.pth"), "-o", P("on.pth"), "--like", P("b_template.pth"), "--strict", "on", expect=1)
    ck.check("CONV2.0.weight" in r.err and r.err.strip().splitlines()[-1].startswith("sg-ckpt-adapt: error: "),
             "--strict on without --report: report and error on stderr: %r" % r.err)

    # --strict off: conv1 only
    run(P("a.pth"), "-o", P("off.pth"), "--like", P("b_template.pth"), "--strict", "off")
    net = torch.load(P("off.pth"))["net"]
    ck.eq(list(net.keys()), ["conv1.weight", "conv1.bias"], "--strict off keys")
    b = ModelB()
    res = b.load_state_dict(net, strict=False)
    ck.eq(sorted(res.missing_keys), ["CONV2.0.bias", "CONV2.0.weight"], "--strict off: ModelB missing keys")
    ck.check(torch.equal(b.conv1.weight, a.conv1.weight), "--strict off: conv1 weight")

    # --strict key_matching (SG's transfer_weights): conv1 by name, conv2 skipped for its shape
    narrow = ModelA()
    narrow.conv2 = torch.nn.Conv2d(6, 8, 5)
    torch.save(narrow.state_dict(), P("narrow_template.pth"))
    r = run(P("a.pth"), "-o", P("km.pth"), "--like", P("narrow_template.pth"), "--strict", "key_matching", "--report")
    ck.eq(list(torch.load(P("km.pth"))["net"].keys()), ["conv1.weight", "conv1.bias"], "--strict key_matching keys")
    ck.check("conv2.weight" in r.out and "skipped" in r.out, "--strict key_matching reports the skipped: %r" % r.out)
    res = narrow.load_state_dict(torch.load(P("km.pth"))["net"], strict=False)
    ck.eq(sorted(res.missing_keys), ["conv2.bias", "conv2.weight"], "--strict key_matching: what the model keeps")
    ck.check(torch.equal(narrow.conv1.weight, a.conv1.weight), "--strict key_matching: conv1 weight")

    # --model: the error when sg-model-template is not there, then a stand-in for it
    env_backup = os.environ.pop("SG_MODEL_TEMPLATE", None)
    os.environ["SG_MODEL_TEMPLATE"] = P("no-such-sg-model-template")   # as if it were not built
    r = run(P("a.pth"), "-o", P("m.pth"), "--model", "modelb", expect=2)
    ck.eq(r.err.strip(), "sg-ckpt-adapt: error: --model needs sg-model-template (not built)", "--model without template")
    fake = P("fake-sg-model-template")
    with open(fake, "w") as f:
        f.write("#!%s\nimport sys, torch\nsys.path.insert(0, %r)\nfrom test_adapt import ModelB\n"
                "assert sys.argv[1] == 'modelb' and sys.argv[2] == '10'\n"
                "torch.save(ModelB().state_dict(), sys.argv[3])\n" % (sys.executable, os.path.dirname(os.path.abspath(__file__))))
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
    os.environ["SG_MODEL_TEMPLATE"] = fake
    run(P("a.pth"), "-o", P("m.pth"), "--model", "modelb", "--num-classes", "10")
    if os.path.exists(P("m.pth")):
        ck.eq(list(torch.load(P("m.pth"))["net"].keys()), list(ModelB().state_dict().keys()), "--model keys")
    del os.environ["SG_MODEL_TEMPLATE"]
    if env_backup is not None:
        os.environ["SG_MODEL_TEMPLATE"] = env_backup

    # --- --average -----------------------------------------------------------------------
    nets = []
    for i in range(3):
        torch.manual_seed(10 + i)
        m = SmallNet()
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.num_batches_tracked.fill_(100 + i)
        nets.append(m.state_dict())
        torch.save({"net": m.state_dict(), "ema_net": m.state_dict(), "epoch": i}, P("avg%d.pth" % i))
    run("--average", P("avg0.pth"), P("avg1.pth"), P("avg2.pth"), "-o", P("avg.pth"))
    avg = torch.load(P("avg.pth"))
    ck.eq(list(avg.keys()), ["net"], "--average output keys")
    for k in nets[0]:
        want = nets[0][k] if not nets[0][k].is_floating_point() else \
            torch.stack([n[k].double() for n in nets]).mean(0).to(nets[0][k].dtype)
        got = avg["net"].get(k)
        if not ck.check(got is not None and got.dtype == want.dtype and got.shape == want.shape,
                        "--average %s: %r" % (k, None if got is None else (got.dtype, got.shape))):
            continue
        if want.is_floating_point():
            ck.check(torch.allclose(got, want, rtol=0, atol=1e-6), "--average %s differs from torch's mean" % k)
        else:
            ck.check(torch.equal(got, want), "--average %s: integer entry not the first file's" % k)
    # mismatched keys: an error naming the key
    bad = dict(nets[1])
    del bad["fc.bias"]
    torch.save({"net": bad}, P("avg_bad.pth"))
    r = run("--average", P("avg0.pth"), P("avg_bad.pth"), "-o", P("avg_bad_out.pth"), expect=2)
    ck.check("fc.bias" in r.err, "--average with a missing key names it: %r" % r.err)
    one_error_line(r, P("avg_bad.pth"), "--average missing key")

    # --- --dtype float16 / bfloat16 equal torch bit for bit -------------------------------
    torch.manual_seed(1)
    edge = torch.tensor([0.0, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e10, -1e10, float("inf"), float("-inf"),
                         2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 2.0 ** -14,
                         1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 3.4028234e38, 1e-40, 1e-45, 0.1, 1 / 3.0])
    sd = collections.OrderedDict([
        ("edge", edge),
        ("rand", torch.randn(257, 33) * 1000),
        ("tiny", torch.randn(1000) * 1e-6),
        ("double", torch.randn(64, dtype=torch.float64)),
        ("transposed", torch.randn(8, 5).t()),
        ("index", torch.arange(7)),
    ])
    torch.save({"net": sd}, P("fp.pth"))
    for name, conv in (("float16", lambda t: t.half()), ("bfloat16", lambda t: t.bfloat16())):
        out = P("fp_%s.pth" % name)
        run(P("fp.pth"), "-o", out, "--dtype", name)
        got = torch.load(out)["net"]
        for k, t in sd.items():
            want = conv(t) if t.is_floating_point() else t
            g = got[k]
            if not ck.check(g.dtype == want.dtype and g.shape == want.shape, "--dtype %s %s: %s %s" % (name, k, g.dtype, g.shape)):
                continue
            if want.is_floating_point():
                ck.check(torch.equal(bits16(g), bits16(want)), "--dtype %s %s: bits differ from torch" % (name, k))
            else:
                ck.check(torch.equal(g, want), "--dtype %s %s: integer tensor changed" % (name, k))
    # NaN: both NaN (bit patterns of NaN differ between torch's scalar and vector paths)
    torch.save({"nan": torch.tensor([float("nan"), 1.0])}, P("nan.pth"))
    run(P("nan.pth"), "-o", P("nan16.pth"), "--dtype", "float16")
    ck.check(torch.isnan(torch.load(P("nan16.pth"))["nan"][0]), "--dtype float16 of NaN is NaN")

    # --- DDP prefix ---------------------------------------------------------------------
    torch.manual_seed(3)
    m = SmallNet()
    ddp = collections.OrderedDict(("module." + k, v) for k, v in m.state_dict().items())
    torch.save(ddp, P("ddp.pth"))
    run(P("ddp.pth"), "-o", P("ddp_stripped.pth"), "--strip-prefix", "module.")
    m2 = SmallNet()
    try:
        m2.load_state_dict(torch.load(P("ddp_stripped.pth")), strict=True)
        ck.check(all(torch.equal(x, y) for x, y in zip(m.state_dict().values(), m2.state_dict().values())),
                 "DDP --strip-prefix: weights differ")
    except Exception as e:
        ck.fail("DDP --strip-prefix module.: load_state_dict(strict=True): %s" % e)
    torch.save(SmallNet().state_dict(), P("small_template.pth"))
    run(P("ddp.pth"), "-o", P("ddp_like.pth"), "--like", P("small_template.pth"), "--strict", "on")
    if os.path.exists(P("ddp_like.pth")):
        ck.eq(list(torch.load(P("ddp_like.pth")).keys()), list(m.state_dict().keys()), "DDP --like strips module.")

    # --- safetensors out, parsed here, and back -----------------------------------------
    torch.manual_seed(4)
    mixed = collections.OrderedDict([
        ("w", torch.randn(5, 7)),
        ("w_t", torch.randn(7, 5).t()),                 # a view: written row-major
        ("h", torch.randn(9).half()),
        ("bf", torch.randn(3, 3).bfloat16()),
        ("d", torch.randn(4, dtype=torch.float64)),
        ("i64", torch.arange(-3, 3)),
        ("i32", torch.arange(5, dtype=torch.int32)),
        ("u8", torch.arange(6, dtype=torch.uint8)),
        ("flags", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])
    torch.save({"net": mixed, "epoch": 12, "acc": 0.8125, "optimizer_state_dict": {"state": {}}}, P("mixed.pth"))
    r = run(P("mixed.pth"), "-o", P("mixed.safetensors"))
    if os.path.exists(P("mixed.safetensors")):
        n, meta, st = read_safetensors(P("mixed.safetensors"))
        ck.check(n % 8 == 0, "safetensors header length %d is not a multiple of 8" % n)
        ck.eq(meta.get("epoch"), "12", "safetensors __metadata__ epoch")
        ck.eq(meta.get("acc"), "0.8125", "safetensors __metadata__ acc")
        ck.eq(list(st.keys()), list(mixed.keys()), "safetensors tensor order")
        for k, t in mixed.items():
            if k in st:
                ck.eq(st[k][1], list(t.shape), "safetensors %s shape" % k)
                ck.eq(st[k][2], sha(t), "safetensors %s hash" % k)
        ck.check("optimizer_state_dict" in r.err, "a note says what safetensors left out: %r" % r.err)
        run(P("mixed.safetensors"), "-o", P("back.pth"))
        back = torch.load(P("back.pth"))
        ck.eq(list(back.keys()), list(mixed.keys()), "back.pth keys")
        for k, t in mixed.items():
            if k in back:
                ck.check(back[k].dtype == t.dtype, "back.pth %s dtype %s" % (k, back[k].dtype))
                ck.eq(sha(back[k]), sha(t), "back.pth %s hash" % k)
        # safetensors -> safetensors keeps metadata; --format overrides the extension
        run(P("mixed.safetensors"), "-o", P("again.bin"), "--format", "safetensors", "--drop", "^flags$")
        n2, meta2, st2 = read_safetensors(P("again.bin"))
        ck.eq(meta2, meta, "safetensors -> safetensors metadata")
        ck.check("flags" not in st2 and "w" in st2, "--drop on safetensors input")

    # --- malformed safetensors -------------------------------------------------------------
    f32 = lambda b, e, shape=(2,): {"dtype": "F32", "shape": list(shape), "data_offsets": [b, e]}  # noqa: E731
    bad_files = {
        "overlap": safetensors_image({"a": f32(0, 8), "b": f32(4, 12)}, bytes(12)),
        "bad_json": safetensors_image(b'{"a": {"dtype": "F32", "shape": [2], ', bytes(8)),
        "past_eof": safetensors_image({"a": f32(0, 8)}, bytes(8), claimed=1 << 20),
        "huge_length": safetensors_image({"a": f32(0, 8)}, b"", claimed=(1 << 64) - 1),
        "unknown_dtype": safetensors_image({"a": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
        "size_mismatch": safetensors_image({"a": f32(0, 8, shape=(3,))}, bytes(8)),
        "outside": safetensors_image({"a": f32(0, 8)}, bytes(4)),
        "duplicate": safetensors_image(b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                                       b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', bytes(16)),
        "short": b"\x05\x00",
    }
    for name, data in bad_files.items():
        path = P("bad_%s.safetensors" % name)
        with open(path, "wb") as f:
            f.write(data)
        out = P("bad_%s_out.pth" % name)
        r = run(path, "-o", out, expect=2, what="malformed safetensors %s" % name)
        one_error_line(r, path, "malformed safetensors %s" % name)
        ck.check(not os.path.exists(out), "malformed safetensors %s: wrote an output" % name)

    # --- overwriting, legacy input ----------------------------------------------------------
    before = os.stat(P("a.pth")).st_mtime_ns
    r = run(P("a.pth"), "-o", P("a.pth"), expect=2, what="OUT == IN")
    one_error_line(r, P("a.pth"), "OUT == IN")
    ck.eq(os.stat(P("a.pth")).st_mtime_ns, before, "IN untouched")
    r = run(P("a.pth"), "-o", P("ab.pth"), expect=2, what="existing OUT")
    one_error_line(r, P("ab.pth"), "existing OUT")
    run(P("a.pth"), "-o", P("ab.pth"), "--force", "--weights-only")
    ck.eq(list(torch.load(P("ab.pth")).keys()), ["net"], "--force --weights-only")
    torch.save({"net": a.state_dict(), "epoch": 1}, P("legacy.pth"), _use_new_zipfile_serialization=False)
    run(P("legacy.pth"), "-o", P("legacy_b.pth"), "--like", P("b_template.pth"), "--dtype", "bfloat16")
    if os.path.exists(P("legacy_b.pth")):
        got = torch.load(P("legacy_b.pth"))["net"]
        ck.check(torch.equal(bits16(got["CONV2.0.weight"]), bits16(a.conv2.weight.detach().bfloat16())),
                 "legacy input --like --dtype bfloat16")
    r = run(P("missing.pth"), "-o", P("x.pth"), expect=2, what="missing input")
    one_error_line(r, P("missing.pth"), "missing input")

    ck.report()


if __name__ == "__main__":
    main()
