"""Hostile and broken checkpoint files: sg-ckpt-inspect and lib/pth refuse them safely.

Every file is built at test time, from real torch.save output wherever torch can make the
starting point (zip layout, pickle, records), edited with zipfile / byte edits, or written
by hand where torch cannot make it (bad opcodes, memo tricks, zip bombs, ...).

For each hostile file, `sg-ckpt-inspect FILE` and `sg-ckpt-inspect --json --hash FILE` run
with a 10 s timeout and RLIMIT_AS = 2 GiB, and must:
  - exit 2 (not a signal, not a timeout),
  - print exactly one line on stderr: `sg-ckpt-inspect: error: <FILE as given>: <reason>`
    with a non-empty reason (for refused globals the reason names the global),
  - print nothing on stdout (or, with --json, no description of the file),
  - write nothing (the folder's listing and mtimes are unchanged) and run nothing (the
    payload's marker file does not appear; a control copy of each code-running payload is
    loaded by real torch.load to prove the payload works).
`pth_roundtrip FILE OUT` must exit 2 and create neither OUT nor any other file.

One more file has a corrupted CRC in a tensor record (PyTorch ignores CRCs): describing it
touches no tensor data (exit 0), `--hash` uses the data and refuses it (exit 2, the record
named), `--verify` exits 1 naming a CRC problem.
"""

import collections
import io
import os
import random
import struct
import subprocess
import sys
import time
import zipfile
import warnings
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

warnings.filterwarnings("ignore", message="Duplicate name")
TIMEOUT = 10
AS_LIMIT = 2 << 30
if os.environ.get("SG_SANITIZED") == "1":
    # A SG_SANITIZE build (CTest sets SG_SANITIZED): ASan reserves terabytes of virtual memory
    # for its shadow, so the programs cannot start under RLIMIT_AS; ASan's own per-allocation
    # limit stands in for it (an allocation over 2 GiB is an ASan error, so the test fails).
    AS_LIMIT = None
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":max_allocation_size_mb=2048"


class Reduce:
    """Pickles as `fn(*args)`: how torch.save itself is made to write a chosen GLOBAL/REDUCE."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def fake_tensor(storage, offset, size, stride):
    return Reduce(torch._utils._rebuild_tensor_v2,
                  (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict()))


def torch_save_bytes(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def edit_pickle(data, old, new):
    """Replaces bytes inside the pickle of a torch.save file: in data.pkl (zip re-written
    with the same names) or directly in a legacy file."""
    if not data.startswith(b"PK"):
        assert old in data, "test bug: %r not in the legacy pickle" % old
        return data.replace(old, new)
    ents = zip_entries(data)
    out = []
    for n, d in ents:
        if n.endswith("/data.pkl"):
            assert old in d, "test bug: %r not in data.pkl" % old
            d = d.replace(old, new)
        out.append((n, d))
    return make_zip(out)


def zip_entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def make_zip(entries, method=zipfile.ZIP_STORED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return b.getvalue()


def replace_entry(entries, suffix, data=None, new_name=None, drop=False):
    out, hit = [], False
    for n, d in entries:
        if n.endswith(suffix):
            hit = True
            if drop:
                continue
            out.append((new_name or n, d if data is None else data))
        else:
            out.append((n, d))
    assert hit, "test bug: no entry ending in %s" % suffix
    return out


def raw_zip(entries):
    """A hand-written zip: entries are (name, method, crc, compressed bytes, declared size)."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, crc, comp, usize in entries:
        nb = name.encode()
        off = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0x21, crc, len(comp),
                              usize, len(nb), 0) + nb + comp)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0x21, crc,
                                  len(comp), usize, len(nb), 0, 0, 0, 0, 0, off) + nb)
    cd = central.getvalue()
    cd_off = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries), len(cd), cd_off, 0))
    return out.getvalue()


# zlib's crc32_combine, for the CRC of gigabytes of zeros without computing over them
def _gf2_times(mat, vec):
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1, crc2, len2):
    if len2 <= 0:
        return crc1
    # zlib's crc32_combine: op appends 2^k zero bits; start at one zero bit, square twice to
    # 4, then square once per bit of len2 (1, 2, 4, ... zero bytes).
    op = [0xEDB88320] + [1 << n for n in range(31)]
    op = _gf2_square(_gf2_square(op))
    while len2:
        op = _gf2_square(op)
        if len2 & 1:
            crc1 = _gf2_times(op, crc1)
        len2 >>= 1
    return crc1 ^ crc2


def zip_bomb_pickle(total, chunk=1 << 20):
    """Raw-deflated data.pkl of `total` bytes: PROTO 2, BINUNICODE of (total-8) NUL chars,
    STOP. Returns (compressed, crc32, total). Built from identical full-flushed chunks."""
    assert total % chunk == 0 and total - 8 < 2**32
    n = total // chunk
    head = b"\x80\x02X" + struct.pack("<I", total - 8)
    first = head + bytes(chunk - len(head))
    last = bytes(chunk - 1) + b"."
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    c_first = c.compress(first) + c.flush(zlib.Z_FULL_FLUSH)
    c_mid = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    c_mid2 = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    assert c_mid == c_mid2, "test bug: full-flushed deflate chunks are not reproducible"
    c_last = c.compress(last) + c.flush()
    comp = c_first + c_mid * (n - 2) + c_last
    # crc of zeros(chunk * (n-2)) by doubling
    zc, zlen = zlib.crc32(bytes(chunk)), chunk
    acc, acc_len, k = 0, 0, n - 2
    while k:
        if k & 1:
            acc = crc32_combine(acc, zc, zlen)
            acc_len += zlen
        zc = crc32_combine(zc, zc, zlen)
        zlen *= 2
        k >>= 1
    crc = crc32_combine(zlib.crc32(first), acc, acc_len)
    crc = crc32_combine(crc, zlib.crc32(last), len(last))
    return comp, crc, total


class P:
    """Tiny protocol-2 pickle assembler for what torch cannot be made to write."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, raw):
        self.b += raw
        return self

    def s(self, text):
        t = text.encode()
        return self.op(b"X" + struct.pack("<I", len(t)) + t)

    def g(self, module, name):
        return self.op(b"c%s\n%s\n" % (module.encode(), name.encode()))

    def done(self):
        return bytes(self.b + b".")


# ---------------------------------------------------------------------------------------

def build_cases(hdir, markers, control_dir):
    """Writes the hostile files; returns [(filename, expected name in reason or None)] and
    [(control file, control marker)] for the code-running payloads."""
    cases, controls = [], []

    def put(fname, data, reason_has=None):
        with open(os.path.join(hdir, fname), "wb") as f:
            f.write(data)
        cases.append((fname, reason_has))

    base_obj = {"w": torch.arange(10, dtype=torch.float32), "b": torch.ones(3, dtype=torch.int64), "epoch": 1}
    base = torch_save_bytes(base_obj)
    ents = zip_entries(base)
    root = ents[0][0].split("/")[0]
    pkl = dict(ents)[root + "/data.pkl"]
    store = torch.arange(10, dtype=torch.float32).storage()

    def with_pickle(data):
        return make_zip(replace_entry(ents, "/data.pkl", data))

    # -- code-executing globals (payload creates a marker file) ------------------------
    def payloads(marker):
        cmd = "touch " + marker
        return {
            "os_system.pth": (lambda: edit_pickle(torch_save_bytes({"w": torch.ones(2), "x": Reduce(os.system, (cmd,))}),
                              b"cposix\nsystem\n", b"cos\nsystem\n"), "os.system"),
            "posix_system.pth": (lambda: torch_save_bytes({"x": Reduce(os.system, (cmd,))}), "posix.system"),
            "builtins_eval.pth": (lambda: edit_pickle(torch_save_bytes(
                {"x": Reduce(eval, ("open(%r, 'w').close()" % marker,))}),
                b"c__builtin__\neval\n", b"cbuiltins\neval\n"), "builtins.eval"),
            "builtin_eval_py2name.pth": (lambda: torch_save_bytes(
                {"x": Reduce(eval, ("open(%r, 'w').close()" % marker,))}), "eval"),
            # protocol 2 writes subprocess.Popen under its Python 2 name (commands.Popen)
            "subprocess_popen.pth": (lambda: edit_pickle(torch_save_bytes(
                {"x": Reduce(subprocess.Popen, (["touch", marker],))}),
                b"ccommands\nPopen\n", b"csubprocess\nPopen\n"), "subprocess.Popen"),
            "commands_popen_py2name.pth": (lambda: torch_save_bytes(
                {"x": Reduce(subprocess.Popen, (["touch", marker],))}), "Popen"),
            "stack_global_proto4.pth": (lambda: torch_save_bytes({"x": Reduce(os.system, (cmd,))}, pickle_protocol=4),
                                        "posix.system"),
            "inst_opcode.pth": (lambda: make_zip(replace_entry(ents, "/data.pkl",
                                P().op(b"(").s(cmd).op(b"ios\nsystem\n").done())), None),
            "obj_opcode.pth": (lambda: make_zip(replace_entry(ents, "/data.pkl",
                               P().op(b"(").g("os", "system").s(cmd).op(b"o").done())), "os.system"),
            "legacy_os_system.pth": (lambda: edit_pickle(torch_save_bytes(
                {"x": Reduce(os.system, (cmd,))}, _use_new_zipfile_serialization=False),
                b"cposix\nsystem\n", b"cos\nsystem\n"), "os.system"),
            "global_in_nested_list.pth": (lambda: edit_pickle(torch_save_bytes(
                {"net": collections.OrderedDict(w=torch.ones(2)), "cfg": [1, {"k": Reduce(os.system, (cmd,))}]}),
                b"cposix\nsystem\n", b"cos\nsystem\n"), "os.system"),
        }

    for fname in payloads("x"):
        marker = os.path.join(markers, fname + ".ran")
        make, gname = payloads(marker)[fname]
        data = make()
        assert (gname or "system").split(".")[-1].encode() in data or data.startswith(b"PK"), fname
        put(fname, data, gname)
        cmarker = os.path.join(control_dir, fname + ".ran")
        cpath = os.path.join(control_dir, fname)
        with open(cpath, "wb") as f:
            f.write(payloads(cmarker)[fname][0]())
        controls.append((cpath, cmarker, marker))

    # names from the file must not reach the terminal raw (escapes, CR, bad UTF-8)
    put("global_name_control_chars.pth",
        with_pickle(P().op(b"cevil\x1b[2J\r\nsys\x07tem\n").s("x").op(b"\x85R").done()))
    put("global_name_bad_utf8.pth", with_pickle(P().op(b"cevil\xff\xfe\nsystem\n").s("x").op(b"\x85R").done()))
    put("numpy_array_global.pth", torch_save_bytes({"a": __import__("numpy").zeros(3)}),
        "numpy.core.multiarray._reconstruct")
    put("unknown_storage_class.pth", edit_pickle(base, b"ctorch\nFloatStorage\n", b"ctorch\nEvilStorage\n"),
        "torch.EvilStorage")
    put("storage_class_os_system.pth", with_pickle(pkl.replace(b"ctorch\nFloatStorage\n", b"cos\nsystem\n")),
        "os.system")
    # BUILD on objects that are not OrderedDict / tensors
    put("build_on_list.pth", with_pickle(P().op(b"]}").s("append").op(b"K\x01sb").done()))
    put("build_on_int.pth", with_pickle(P().op(b"K\x01}b").done()))
    put("build_on_global.pth", with_pickle(P().g("torch", "Size").op(b"}").s("__reduce__").s("x").op(b"sb").done()))
    put("bad_persistent_id.pth", with_pickle(P().op(b"(").s("evil").s("0").op(b"tQ").done()))

    # -- not zip/pickle at all ----------------------------------------------------------
    put("empty.pth", b"")
    rnd = random.Random(1234)
    put("random_bytes.pth", bytes(rnd.getrandbits(8) for _ in range(4096)))
    put("random_after_zip_magic.pth", b"PK\x03\x04" + bytes(rnd.getrandbits(8) for _ in range(4096)))
    put("notes.pth", b"These are not the weights you are looking for.\n" * 20)
    put("x.pth", b"version https://git-lfs.github.com/spec/v1\n"
                 b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                 b"size 123\n")

    # -- truncations of a real file -----------------------------------------------------
    real = torch_save_bytes({"w": torch.randn(64, 64), "epoch": 3})
    cd_off = real.find(b"PK\x01\x02")
    put("trunc_1_byte.pth", real[:1])
    put("trunc_local_header.pth", real[:30])
    put("trunc_half.pth", real[:len(real) // 2])
    put("trunc_in_central_dir.pth", real[:cd_off + 20])
    put("trunc_minus_1.pth", real[:-1])

    # -- zip structure --------------------------------------------------------------------
    put("missing_version.pth", make_zip(replace_entry(ents, "/version", drop=True)))
    put("bad_version_99.pth", make_zip(replace_entry(ents, "/version", b"99\n")))
    put("bad_version_text.pth", make_zip(replace_entry(ents, "/version", b"three\n")))
    put("bad_version_escape.pth", make_zip(replace_entry(ents, "/version", b"\x1b[2J\x1b[31m3")))
    put("two_roots.pth", make_zip(ents + [("other/extra", b"x")]))
    put("missing_data_pkl.pth", make_zip(replace_entry(ents, "/data.pkl", drop=True)))
    put("missing_storage_record.pth", make_zip(replace_entry(ents, "/data/0", drop=True)))
    put("short_storage_record.pth", make_zip(replace_entry(ents, "/data/0", dict(ents)[root + "/data/0"][:20])))
    put("traversal_extra_entry.pth", make_zip(ents + [("../../etc/x", b"x")]))
    put("absolute_extra_entry.pth", make_zip(ents + [("/tmp/x", b"x")]))
    put("absolute_root.pth", make_zip([("/tmp/x/" + n[len(root) + 1:], d) for n, d in ents]))
    put("dotdot_root.pth", make_zip([("../" + n[len(root) + 1:], d) for n, d in ents]))
    key_pkl = pkl.replace(b"X\x01\x00\x00\x000q", b"X\x13\x00\x00\x00../../../etc/passwdq", 1)
    assert key_pkl != pkl
    put("storage_key_traversal.pth", make_zip(replace_entry(ents, "/data.pkl", key_pkl) +
                                             [(root + "/data/../../../etc/passwd", bytes(40))]))
    # the storage's persistent id claims 2**62 elements (record holds 10)
    huge_pid = pkl.replace(b"cpuq\x06K\ntq", b"cpuq\x06\x8a\x08" + struct.pack("<q", 2**62) + b"tq", 1)
    assert huge_pid != pkl, "test bug: storage numel not found in data.pkl"
    put("storage_numel_huge.pth", with_pickle(huge_pid))
    neg_pid = pkl.replace(b"cpuq\x06K\ntq", b"cpuq\x06J\xff\xff\xff\xfftq", 1)
    put("storage_numel_negative.pth", with_pickle(neg_pid))
    # two entries with one name: a scanner and a loader may read different ones
    put("duplicate_data_pkl.pth", make_zip(ents + [(root + "/data.pkl", P().g("os", "system").s("true").op(b"\x85R").done())]))
    # end-of-central-directory record lying about the central directory
    plain = make_zip(ents)
    sig, d0, d1, n0, n1, cd_size, cd_off0, clen = struct.unpack("<IHHHHIIH", plain[-22:])
    put("eocd_cd_offset_outside.pth", plain[:-22] + struct.pack("<IHHHHIIH", sig, d0, d1, n0, n1, cd_size, 0x7FFFFFF0, clen))
    put("eocd_entry_count_huge.pth", plain[:-22] + struct.pack("<IHHHHIIH", sig, d0, d1, 65535, 65535, cd_size, cd_off0, clen))
    put("eocd_cd_size_huge.pth", plain[:-22] + struct.pack("<IHHHHIIH", sig, d0, d1, n0, n1, 0x7FFFFFF0, cd_off0, clen))
    # a central directory entry whose local header offset points past the end
    cd = bytearray(plain)
    first_cd = cd.find(b"PK\x01\x02")
    cd[first_cd + 42:first_cd + 46] = struct.pack("<I", len(plain) + 1000)
    put("local_header_outside.pth", bytes(cd))
    put("data_pkl_deflated_garbage.pth", make_zip(replace_entry(ents, "/data.pkl", os.urandom(300)),
                                                  zipfile.ZIP_DEFLATED))
    # zip bombs: a 3 GiB data.pkl deflated to a few MB (sizes honest), and the same stream
    # under a header that claims 1000 bytes
    comp, crc, total = zip_bomb_pickle(3 << 30)
    others = [(n, 0, zlib.crc32(d), d, len(d)) for n, d in ents if not n.endswith("/data.pkl")]
    put("zip_bomb.pth", raw_zip([(root + "/data.pkl", 8, crc, comp, total)] + others))
    put("zip_bomb_lying_size.pth", raw_zip([(root + "/data.pkl", 8, zlib.crc32(b"\x80\x02"), comp, 1000)] + others))

    # -- tensor views (torch.save writes them; the numbers are what the file claims) ----
    def with_tensor(offset, size, stride):
        return torch_save_bytes({"w": fake_tensor(store, offset, size, stride), "epoch": 1})

    put("view_outside_storage.pth", with_tensor(0, (11,), (1,)))
    put("view_offset_outside.pth", with_tensor(8, (3,), (1,)))
    put("view_stride_outside.pth", with_tensor(0, (4,), (4,)))
    put("negative_size.pth", with_tensor(0, (-5,), (1,)))
    put("negative_offset.pth", with_tensor(-1, (3,), (1,)))
    put("negative_stride.pth", with_tensor(2, (3,), (-1,)))
    put("overflow_numel.pth", with_tensor(0, (2**40, 2**40), (2**40, 1)))
    put("numel_wraps_to_zero.pth", with_tensor(0, (2**62, 4), (0, 0)))
    put("overflow_stride.pth", with_tensor(0, (3,), (2**62,)))
    put("stride_rank_mismatch.pth", with_tensor(0, (2, 3), (1,)))
    # valid for torch (a view keeps its strides), but hashing it would read 2^42 bytes of one float
    put("expanded_view.pth", torch_save_bytes({"w": torch.zeros(1).expand(2**20, 2**20)}), "expanded")
    one = torch.arange(16384, dtype=torch.float32)
    put("repeated_views.pth", torch_save_bytes({"w%d" % i: one for i in range(2000)}), "repeated")

    # -- broken pickles ------------------------------------------------------------------
    put("truncated_pickle.pth", with_pickle(pkl[:len(pkl) // 2]))
    put("bad_opcode.pth", with_pickle(b"\x80\x02\xff."))
    put("memo_unset.pth", with_pickle(P().op(b"}h\x05").done()))
    put("memo_unset_long.pth", with_pickle(P().op(b"j\xff\xff\xff\xff").done()))
    put("stack_underflow_setitem.pth", with_pickle(P().op(b"s").done()))
    put("stack_underflow_stop.pth", with_pickle(b"\x80\x02."))
    put("mark_underflow_tuple.pth", with_pickle(P().op(b"K\x01t").done()))
    put("absurd_binunicode.pth", with_pickle(b"\x80\x02X\xff\xff\xff\xffabc."))
    put("absurd_binunicode8.pth", with_pickle(b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"abc."))
    put("absurd_binbytes8.pth", with_pickle(b"\x80\x04\x8e" + struct.pack("<Q", 2**63 + 5) + b"abc."))
    put("absurd_long4.pth", with_pickle(b"\x80\x02\x8b\xff\xff\xff\x7f\x01\x02."))
    put("absurd_frame.pth", with_pickle(b"\x80\x04\x95" + struct.pack("<Q", 2**60) + b"}."))
    put("deep_nesting_lists.pth", with_pickle(b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"."))
    put("deep_nesting_tuples.pth", with_pickle(b"\x80\x02" + b"(" * 100000 + b"t" * 100000 + b"."))
    put("deep_nesting_dicts.pth", with_pickle(b"\x80\x02" + b"}X\x01\x00\x00\x00k" * 100000 + b"N" + b"s" * 100000 + b"."))
    # -- legacy format -----------------------------------------------------------------
    legacy = torch_save_bytes(base_obj, _use_new_zipfile_serialization=False)
    bad = bytearray(legacy)
    bad[5] ^= 0xFF
    put("legacy_bad_magic.pth", bytes(bad))
    assert b"M\xe9\x03" in legacy, "test bug: legacy protocol version 1001 not found"
    put("legacy_bad_protocol.pth", legacy.replace(b"M\xe9\x03", b"M\xe7\x03", 1))
    put("legacy_truncated.pth", legacy[:len(legacy) // 2])
    put("legacy_short_storage.pth", legacy[:-8])

    # -- not regular files ----------------------------------------------------------------
    os.mkdir(os.path.join(hdir, "a_directory.pth"))
    cases.append(("a_directory.pth", None))
    cases.append(("does_not_exist.pth", None))
    return cases, controls


def check_error_run(c, r, prog, fname, reason_has, what):
    if r.timed_out or r.signal or r.rc != 2:
        c.fail("%s: expected exit 2: %s" % (what, r.describe()))
        return
    lines = r.err.split("\n")
    if not (r.err.endswith("\n") and len(lines) == 2):
        c.fail("%s: stderr must be exactly one line, got %d: %s" % (what, r.err.count("\n"), sgtest.short(r.err, 400)))
        return
    try:
        r.err_raw.decode("utf-8")
    except UnicodeDecodeError:
        c.fail("%s: stderr is not valid UTF-8: %r" % (what, r.err_raw[:300]))
    ctl = [ch for ch in lines[0] if ord(ch) < 0x20 or ord(ch) == 0x7f]
    c.check(not ctl, "%s: stderr line carries control characters %r: %r" % (what, ctl, lines[0]))
    prefix = "%s: error: %s: " % (prog, fname)
    line = lines[0]
    if not c.check(line.startswith(prefix) and line[len(prefix):].strip(),
                   "%s: stderr %r does not start with %r followed by a reason" % (what, line, prefix)):
        return
    if reason_has:
        c.check(reason_has in line[len(prefix):],
                "%s: the reason does not name the refused global %r: %r" % (what, reason_has, line))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=True, need_roundtrip=True)
    work = sgtest.fresh_dir(args.workdir)
    hdir = sgtest.fresh_dir(os.path.join(work, "hostile"))
    markers = sgtest.fresh_dir(os.path.join(work, "markers"))
    control_dir = sgtest.fresh_dir(os.path.join(work, "control"))
    rt_out = sgtest.fresh_dir(os.path.join(work, "rt_out"))
    inspect, roundtrip = os.path.abspath(args.inspect), os.path.abspath(args.roundtrip)
    c = sgtest.Checker("test_hostile_files")

    t0 = time.time()
    cases, controls = build_cases(hdir, markers, control_dir)
    if args.verbose:
        print("built %d hostile files in %.1fs" % (len(cases), time.time() - t0))
    c.check(len(cases) >= 30, "test bug: only %d hostile cases" % len(cases))

    # Controls: the payloads do run when real torch.load(weights_only=False) opens them.
    warnings.simplefilter("ignore")
    for cpath, cmarker, _ in controls:
        try:
            torch.load(cpath, weights_only=False)
        except Exception:
            pass
    deadline = time.time() + 60   # the Popen payloads touch their marker in a child of their own
    while time.time() < deadline and not all(os.path.exists(m) for _, m, _ in controls):
        time.sleep(0.05)
    for cpath, cmarker, _ in controls:
        c.check(os.path.exists(cmarker), "test bug: control payload %s did not run under torch.load" %
                os.path.basename(cpath))

    before = sgtest.dir_snapshot(hdir)
    for fname, reason_has in cases:
        for extra in ([], ["--json", "--hash"]):
            r = sgtest.run([inspect] + extra + [fname], timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=hdir)
            what = "sg-ckpt-inspect %s%s" % (" ".join(extra) + " " if extra else "", fname)
            check_error_run(c, r, "sg-ckpt-inspect", fname, reason_has, what)
            if extra:
                ok = not r.out.strip()
                if not ok:
                    try:
                        files = __import__("json").loads(r.out).get("files", [])
                        ok = not any(f.get("path") == fname for f in files)
                    except Exception:
                        ok = False
                c.check(ok, "%s: stdout describes the refused file: %s" % (what, sgtest.short(r.out, 300)))
            else:
                c.check(not r.out.strip(), "%s: stdout not empty: %s" % (what, sgtest.short(r.out, 300)))
        out = os.path.join(rt_out, "out.pth")
        r = sgtest.run([roundtrip, fname, out], timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=hdir)
        check_error_run(c, r, "pth_roundtrip", fname, reason_has, "pth_roundtrip %s OUT" % fname)
        left = os.listdir(rt_out)
        c.check(not left, "pth_roundtrip %s OUT: left files behind: %s" % (fname, left))
        for n in left:
            os.remove(os.path.join(rt_out, n))
        after = sgtest.dir_snapshot(hdir)
        if after != before:
            changed = sorted(set(after.items()) ^ set(before.items()))
            c.fail("%s: the folder changed while reading it: %s" % (fname, changed[:5]))
            before = after
        ran = os.listdir(markers)
        if ran:
            c.fail("%s: CODE RAN: marker files %s exist" % (fname, ran))
            for n in ran:
                os.remove(os.path.join(markers, n))
    c.check(not os.listdir(markers), "marker files exist: %s" % os.listdir(markers))

    check_mixed(c, inspect, work, hdir)
    check_crc_case(c, inspect, work)
    print("%d hostile files: %s" % (len(cases), " ".join(f for f, _ in cases)))
    c.report()


def check_mixed(c, inspect, work, hdir):
    """A good file next to a hostile one: the good one is described, the bad one refused."""
    good = os.path.join(hdir, "..", "good.pth")
    torch.save({"w": torch.ones(3), "epoch": 2}, good)
    good = os.path.relpath(good, hdir)
    for bad, reason in (("os_system.pth", "os.system"), ("trunc_half.pth", None)):
        doc, r = sgtest.run_json(c, [inspect, "--json", good, bad], "--json %s %s" % (good, bad), expect_rc=2,
                                 timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=hdir)
        if doc is not None:
            c.eq([f.get("path") for f in doc.get("files", [])], [good],
                 "--json %s %s: only the readable file is described" % (good, bad))
        check_error_run(c, r, "sg-ckpt-inspect", bad, reason, "--json %s %s" % (good, bad))
        for args in (["--diff", good, bad], ["--diff", bad, good]):
            r = sgtest.run([inspect] + args, timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=hdir)
            check_error_run(c, r, "sg-ckpt-inspect", bad, reason, " ".join(args))


def check_crc_case(c, inspect, work):
    d = sgtest.fresh_dir(os.path.join(work, "crc"))
    t = torch.arange(64, dtype=torch.float32)
    path = os.path.join(d, "crc_corrupted.pth")
    torch.save({"w": t, "epoch": 1}, path)
    with zipfile.ZipFile(path) as z:
        info = [i for i in z.infolist() if i.filename.endswith("/data/0")][0]
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    nlen, elen = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    data_off = info.header_offset + 30 + nlen + elen
    raw[data_off + 5] ^= 0x40
    with open(path, "wb") as f:
        f.write(raw)
    loaded = torch.load(path)["w"]          # torch ignores CRCs: control
    c.check(not torch.equal(loaded, t), "test bug: the CRC corruption did not change the tensor")
    name = "crc_corrupted.pth"
    r = sgtest.run([inspect, name], timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=d)
    c.check(r.rc == 0, "%s: readable by default (torch ignores CRCs), expected exit 0: %s" % (name, r.describe()))
    r = sgtest.run([inspect, "--json", "--hash", name], timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=d)
    check_error_run(c, r, "sg-ckpt-inspect", name, "CRC mismatch in record 'crc_corrupted/data/0'",
                    name + " --json --hash")
    r = sgtest.run([inspect, "--verify", name], timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=d)
    c.check(r.rc == 1 and "crc" in (r.out + r.err).lower(),
            "%s --verify: expected exit 1 naming a CRC problem: %s" % (name, r.describe()))
    doc, r = sgtest.run_json(c, [inspect, "--verify", "--json", name], name + " --verify --json", expect_rc=1,
                             timeout=TIMEOUT, as_limit=AS_LIMIT, cwd=d)
    if doc is not None:
        v = (doc.get("files") or [{}])[0].get("verify") or {}
        c.check(v.get("ok") is False and any("crc" in str(p).lower() for p in v.get("problems", [])),
                "%s --verify --json: expected ok=false and a CRC problem: %s" % (name, sgtest.short(v)))


if __name__ == "__main__":
    main()
