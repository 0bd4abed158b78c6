"""Files written by lib/pth load in real torch.load with identical content.

For every fixture made by torch.save (make_fixtures.py): `pth_roundtrip FIXTURE OUT`, then
torch.load(OUT, weights_only=False) is deep-compared with torch.load(FIXTURE):
  - same Python types (OrderedDict vs dict, list vs tuple, Parameter vs Tensor, int vs
    bool vs float), same keys (and key types) in the same order, OrderedDict `_metadata`
  - tensors: dtype, shape, stride, storage_offset, requires_grad, storage size and the
    bytes of the whole storage, bit-exact values (NaN payloads included)
  - storage sharing: tensors sharing a storage in the input share one in the output and
    no others do
and OUT's zip layout is checked: `<stem>/data.pkl`, `<stem>/data/<k>` (k = 0..n-1, one per
storage, exact length), `<stem>/version` = "3\\n", `<stem>/byteorder` = "little"; nothing
else (except an optional `.data/serialization_id`); no constants.pkl / .format_version /
.storage_alignment; every entry stored; every data record's data 64-byte aligned; CRCs
correct (zipfile.testzip).
Also: files without Python floats load with torch.load(weights_only=True) on 1.13; the
round-tripped resnet18 state dicts load into torchvision models strict=True and give the
same output; a second round trip reproduces the same data.pkl byte for byte.
"""

import math
import os
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
import make_fixtures as mf  # noqa: E402

EXTRA_ALLOWED = {".data/serialization_id"}
FORBIDDEN = ("constants.pkl", ".format_version", ".storage_alignment")


def storage_bytes(t):
    full = torch.empty(0, dtype=t.dtype).set_(t.storage())
    return mf.tensor_bytes(full)


class Comparer:
    def __init__(self, c, name):
        self.c, self.name = c, name

    def fail(self, path, msg):
        self.c.fail("%s: at %r: %s" % (self.name, path or "<root>", msg))

    def cmp(self, a, b, path):
        if type(a) is not type(b):
            self.fail(path, "type %s, expected %s" % (type(b).__name__, type(a).__name__))
            return
        if isinstance(a, torch.Tensor):
            self.cmp_tensor(a, b, path)
        elif isinstance(a, dict):
            ka, kb = list(a.keys()), list(b.keys())
            if [(type(k), k) for k in ka] != [(type(k), k) for k in kb]:
                i = next((i for i, (x, y) in enumerate(zip(ka, kb)) if (type(x), x) != (type(y), y)),
                         min(len(ka), len(kb)))
                self.fail(path, "keys differ from position %d: got %s, expected %s (%d keys, expected %d)" % (
                    i, sgtest.short([repr(k) for k in kb[i:i + 5]]), sgtest.short([repr(k) for k in ka[i:i + 5]]),
                    len(kb), len(ka)))
                return
            ma, mb = getattr(a, "_metadata", None), getattr(b, "_metadata", None)
            if (ma is None) != (mb is None):
                self.fail(path, "_metadata %s, expected %s" % ("present" if mb is not None else "missing",
                                                               "present" if ma is not None else "missing"))
            elif ma is not None:
                self.cmp(ma, mb, path + "._metadata")
            for k in ka:
                self.cmp(a[k], b[k], "%s/%s" % (path, k) if path else str(k))
        elif isinstance(a, (list, tuple)):
            if len(a) != len(b):
                self.fail(path, "length %d, expected %d" % (len(b), len(a)))
                return
            for i, (x, y) in enumerate(zip(a, b)):
                self.cmp(x, y, "%s/%d" % (path, i) if path else str(i))
        elif isinstance(a, float):
            same = (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
            if not same:
                self.fail(path, "float %r, expected %r" % (b, a))
        elif a != b:
            self.fail(path, "value %s, expected %s" % (sgtest.short(repr(b)), sgtest.short(repr(a))))

    def cmp_tensor(self, a, b, path):
        for what, x, y in (("dtype", a.dtype, b.dtype), ("shape", tuple(a.shape), tuple(b.shape)),
                           ("stride", a.stride(), b.stride()),
                           ("storage_offset", a.storage_offset(), b.storage_offset()),
                           ("requires_grad", a.requires_grad, b.requires_grad),
                           ("storage size", a.storage().size(), b.storage().size()),
                           ("device", str(a.device), str(b.device))):
            if x != y:
                self.fail(path, "tensor %s %s, expected %s" % (what, y, x))
                return
        if mf.tensor_bytes(a) != mf.tensor_bytes(b):
            self.fail(path, "tensor values differ")
        elif storage_bytes(a) != storage_bytes(b):
            self.fail(path, "bytes of the whole storage differ (outside the view)")


def sharing(obj):
    ids, out = {}, []
    for path, t in mf.walk_tensors(obj):
        out.append((path, ids.setdefault(mf.storage_id(t), len(ids))))
    return out


def check_layout(c, name, out_path, n_storages, storage_nbytes):
    stem = os.path.splitext(os.path.basename(out_path))[0]
    w = "%s: output zip" % name
    try:
        z = zipfile.ZipFile(out_path)
    except zipfile.BadZipFile as e:
        c.fail("%s is not a zip file: %s" % (w, e))
        return
    with z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        c.check(len(names) == len(set(names)), "%s: duplicate entry names %s" % (w, names))
        required = {stem + "/data.pkl", stem + "/version", stem + "/byteorder"}
        required |= {"%s/data/%d" % (stem, k) for k in range(n_storages)}
        missing = required - set(names)
        extra = set(names) - required - {stem + "/" + x for x in EXTRA_ALLOWED}
        c.check(not missing, "%s: missing records %s" % (w, sorted(missing)))
        c.check(not extra, "%s: unexpected records %s" % (w, sorted(extra)))
        bad = [n for n in names if any(n.endswith("/" + f) for f in FORBIDDEN)]
        c.check(not bad, "%s: forbidden records %s" % (w, bad))
        if stem + "/version" in names:
            c.eq(z.read(stem + "/version"), b"3\n", w + ": version record")
        if stem + "/byteorder" in names:
            c.eq(z.read(stem + "/byteorder"), b"little", w + ": byteorder record")
        try:
            c.check(z.testzip() is None, "%s: CRC error in %s" % (w, z.testzip()))
        except Exception as e:
            c.fail("%s: testzip failed: %s" % (w, e))
        with open(out_path, "rb") as f:
            raw = f.read()
        for info in infos:
            c.check(info.compress_type == zipfile.ZIP_STORED,
                    "%s: %s is compressed (method %d), must be stored" % (w, info.filename, info.compress_type))
            ho = info.header_offset
            if raw[ho:ho + 4] != b"PK\x03\x04":
                c.fail("%s: %s: no local header at offset %d" % (w, info.filename, ho))
                continue
            nlen, elen = struct.unpack("<HH", raw[ho + 26:ho + 30])
            lname = raw[ho + 30:ho + 30 + nlen].decode("utf-8", "replace")
            c.check(lname == info.filename, "%s: local name %r != central name %r" % (w, lname, info.filename))
            data_off = ho + 30 + nlen + elen
            if info.filename.startswith(stem + "/data/"):
                c.check(data_off % 64 == 0, "%s: %s data at offset %d, not 64-byte aligned" % (
                    w, info.filename, data_off))
                key = info.filename[len(stem) + 6:]
                if key.isdigit() and int(key) < len(storage_nbytes):
                    c.check(info.file_size == storage_nbytes[int(key)],
                            "%s: %s holds %d bytes, storage needs %d" % (w, info.filename, info.file_size,
                                                                       storage_nbytes[int(key)]))
            # extra fields must parse as (id, size) records
            extra = raw[ho + 30 + nlen:data_off]
            p = 0
            while p + 4 <= len(extra):
                fid, fsz = struct.unpack("<HH", extra[p:p + 4])
                if fid == 0x4246:   # "FB" padding: all 'Z'
                    c.check(set(extra[p + 4:p + 4 + fsz]) <= {ord("Z")},
                            "%s: %s: FB padding not filled with 'Z'" % (w, info.filename))
                p += 4 + fsz
            c.check(p == len(extra), "%s: %s: malformed local extra field" % (w, info.filename))


def storages_in_order(obj):
    seen, out = set(), []
    for _, t in mf.walk_tensors(obj):
        sid = mf.storage_id(t)
        if sid not in seen:
            seen.add(sid)
            out.append(t.storage().size() * t.element_size())
    return out


def resnet_output(sd):
    import torchvision
    m = torchvision.models.resnet18(num_classes=10)
    m.load_state_dict(sd, strict=True)
    m.eval()
    with torch.no_grad():
        return m(torch.linspace(-1, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32))


def data_pkl(path):
    with zipfile.ZipFile(path) as z:
        n = [x for x in z.namelist() if x.endswith("/data.pkl")]
        return z.read(n[0])


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, need_roundtrip=True)
    os.makedirs(args.workdir, exist_ok=True)
    fx, expected = sgtest.ensure_fixtures(args)
    out_dir = sgtest.fresh_dir(os.path.join(args.workdir, "out"))
    rt = os.path.abspath(args.roundtrip)
    c = sgtest.Checker("test_roundtrip")

    written = set()
    for name in sorted(expected["files"]):
        src = os.path.join(fx, name)
        dst = os.path.join(out_dir, name)
        r = sgtest.run([rt, src, dst])
        if not c.check(r.rc == 0 and os.path.exists(dst), "%s: pth_roundtrip failed: %s" % (name, r.describe())):
            continue
        written.add(name)
        a = torch.load(src, map_location="cpu")
        try:
            b = torch.load(dst, map_location="cpu", weights_only=False)
        except Exception as e:
            c.fail("%s: torch.load of the round-tripped file failed: %s: %s" % (name, type(e).__name__, e))
            continue
        Comparer(c, name).cmp(a, b, "")
        sa, sb = sharing(a), sharing(b)
        c.eq([s for _, s in sb], [s for _, s in sa],
             "%s: storage sharing groups (by tensor, in path order)" % name)
        check_layout(c, name, dst, len({s for _, s in sa}), storages_in_order(b))

        if name in ("sg_sgd.pth", "state_dict.pth"):
            sd_a = a["net"] if name == "sg_sgd.pth" else a
            sd_b = b["net"] if name == "sg_sgd.pth" else b
            try:
                c.check(torch.equal(resnet_output(sd_a), resnet_output(sd_b)),
                        "%s: resnet18 output differs after the round trip" % name)
            except Exception as e:
                c.fail("%s: resnet18.load_state_dict(strict=True) of the round-tripped state dict: %s" % (name, e))

    # weights_only=True on 1.13 (no Python floats in these): control on the input, then output
    for name in ("state_dict.pth", "dtypes.pth", "params.pth", "many_keys.pth"):
        if name not in written:
            continue
        try:
            torch.load(os.path.join(fx, name), weights_only=True)
        except Exception as e:
            c.fail("test bug: %s itself does not load with weights_only=True: %s" % (name, e))
            continue
        try:
            b = torch.load(os.path.join(out_dir, name), weights_only=True)
            Comparer(c, name + " (weights_only=True)").cmp(torch.load(os.path.join(fx, name)), b, "")
        except Exception as e:
            c.fail("%s: round-tripped file refused by torch.load(weights_only=True): %s" % (name, e))

    # a second round trip gives the same pickle
    again = sgtest.fresh_dir(os.path.join(args.workdir, "again"))
    for name in ("nested.pth", "dtypes.pth", "params.pth", "sg_adam.pth"):
        if name not in written:
            continue
        dst2 = os.path.join(again, name)
        r = sgtest.run([rt, os.path.join(out_dir, name), dst2])
        if c.check(r.rc == 0, "%s: second round trip failed: %s" % (name, r.describe())):
            c.check(data_pkl(dst2) == data_pkl(os.path.join(out_dir, name)),
                    "%s: data.pkl differs between the first and the second round trip" % name)

    left = set(os.listdir(out_dir)) - written
    c.check(not left, "pth_roundtrip left other files in the output folder: %s" % sorted(left))
    if not c.failures:   # keep the outputs only when they are needed to look into a failure
        sgtest.fresh_dir(out_dir)
        sgtest.fresh_dir(again)
    c.report()


if __name__ == "__main__":
    main()
