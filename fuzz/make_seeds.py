"""Seed corpora for the fuzz targets, made at run time by real PyTorch (scripts/fuzz).

    /usr/bin/python3 fuzz/make_seeds.py --out DIR [--max-len NAME=BYTES ...]

writes DIR/<target>/<file> for the targets zip, pickle, checkpoint, legacy, safetensors
and recipe (image has only its committed fuzz/seeds/image), from:
  - test/python/make_fixtures.py's torch.save fixtures (made once into DIR/fixtures);
  - test/python/test_hostile_files.py's hostile files (its build_cases(), unchanged);
  - small torch.save files made here, zip and legacy (_use_new_zipfile_serialization=False),
    stored and deflated, pickle protocols 2-5;
  - safetensors files written here with json + struct;
  - the recipes in recipes/, alone and combined with overrides and group files in the
    layout fuzz_recipe.cpp reads (NUL-separated sections).
Files over a target's max length are left out (libFuzzer would cut them short); the
pickle target gets the data.pkl of every zip, whatever the zip's size.
"""

import argparse
import collections
import glob
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "python"))

import sgtest  # noqa: E402

torch = sgtest.import_torch()

TARGETS = ("zip", "pickle", "checkpoint", "legacy", "safetensors", "recipe", "image")   # image: fuzz/seeds only


class Seeds:
    def __init__(self, out, max_len):
        self.out, self.max_len, self.count = out, max_len, collections.Counter()
        for t in TARGETS:
            os.makedirs(os.path.join(out, t), exist_ok=True)

    def add(self, target, name, data):
        if len(data) > self.max_len.get(target, 1 << 62):
            return
        digest = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(self.out, target, "%s-%s" % (name, digest)), "wb") as f:
            f.write(data)
        self.count[target] += 1

    def add_torch_file(self, name, data):
        """A torch.save file (or something that tries to be one) for every target it suits."""
        self.add("checkpoint", name, data)
        if data[:2] == b"PK":
            self.add("zip", name, data)
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    for info in z.infolist():
                        if info.filename.endswith("data.pkl") and info.file_size < (1 << 20):
                            self.add("pickle", name + "-data.pkl", z.read(info.filename))
            except Exception:
                pass   # a hostile zip that zipfile cannot read either
        elif len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
            self.add("legacy", name, data)


def torch_bytes(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def deflated(data):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def small_objects():
    """Small checkpoints with what real ones hold: an SG-style dict, views, dtypes."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(), torch.nn.Linear(8, 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 1, 4, 4)).sum().backward()
    opt.step()
    base = torch.arange(24, dtype=torch.float32)
    views = {"t": base.view(4, 6).t(), "step": base[::3], "offset": base[5:9], "scalar": torch.tensor(3.5),
             "empty": torch.zeros(0, 3), "expanded": torch.ones(1, 3).expand(4, 3)}
    dtypes = {str(d).replace("torch.", ""): (torch.arange(6) % 2).to(d) for d in
              (torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8,
               torch.uint8, torch.bool, torch.complex64, torch.complex128)}
    dtypes["nan_inf"] = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    return {
        "sg_tiny": {"net": net.state_dict(), "optimizer_state_dict": opt.state_dict(), "epoch": 3, "acc": 0.5,
                    "ema_net": net.state_dict(), "metrics": {"Accuracy": 0.5, "Loss": 1.25}},
        "views": views,
        "dtypes": dtypes,
        "params": {"p": torch.nn.Parameter(torch.ones(2)), "l": [torch.ones(1), (torch.zeros(2), None)],
                   "big": 2 ** 70, "b": b"\x00\xff", "u": "\u00e9\u4e2d", 7: True},
        "bare": torch.arange(5, dtype=torch.int16),
    }


def add_small_torch_files(seeds):
    for name, obj in small_objects().items():
        z = torch_bytes(obj)
        seeds.add_torch_file(name, z)
        seeds.add_torch_file(name + "-deflated", deflated(z))
        seeds.add_torch_file(name + "-legacy", torch_bytes(obj, _use_new_zipfile_serialization=False))
        for proto in (4, 5):
            seeds.add_torch_file("%s-p%d" % (name, proto), torch_bytes(obj, pickle_protocol=proto))


def add_fixtures(seeds, fixtures):
    if not os.path.exists(os.path.join(fixtures, "expected.json")):
        import make_fixtures
        make_fixtures.make_all(fixtures)
    for path in sorted(glob.glob(os.path.join(fixtures, "*.pth"))):
        with open(path, "rb") as f:
            head = f.read(2)
        if head == b"PK" or os.path.getsize(path) <= max(seeds.max_len.values()):
            with open(path, "rb") as f:
                seeds.add_torch_file("fixture-" + os.path.basename(path)[:-4], f.read())
        if os.path.getsize(path) > (8 << 20):
            os.remove(path)   # only ever a seed for its data.pkl: 700 MB of disk spared


def add_hostile_files(seeds):
    import test_hostile_files as h
    with tempfile.TemporaryDirectory() as tmp:
        hdir, markers, control = (os.path.join(tmp, d) for d in ("hostile", "markers", "control"))
        for d in (hdir, markers, control):
            os.mkdir(d)
        cases, _ = h.build_cases(hdir, markers, control)
        for fname, _ in cases:
            path = os.path.join(hdir, fname)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    seeds.add_torch_file("hostile-" + fname[:-4], f.read())


def safetensors_bytes(tensors, metadata=None, pad=True):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def add_safetensors(seeds):
    f32 = struct.pack("<6f", 0, 1, 2, 3, float("nan"), float("inf"))
    cases = {
        "f32": {"w": ("F32", [2, 3], f32)},
        "mixed": {"a": ("F16", [2], b"\x00\x3c\x00\xc0"), "b": ("BF16", [1], b"\x80\x3f"), "c": ("I64", [1], struct.pack("<q", -5)),
                  "d": ("BOOL", [3], b"\x00\x01\x01"), "e": ("U8", [2], b"\x00\xff"), "f": ("C64", [1], struct.pack("<2f", 1, -1)),
                  "g": ("I32", [], struct.pack("<i", 7)), "h": ("I16", [0, 4], b""), "i": ("I8", [1], b"\x80"),
                  "j": ("F64", [1], struct.pack("<d", 0.5))},
        "empty": {},
        "unsupported": {"u": ("U16", [1], b"\x01\x00")},
    }
    for name, tensors in cases.items():
        seeds.add("safetensors", name, safetensors_bytes(tensors, {"format": "pt", "k": "v"}))
        seeds.add("safetensors", name + "-nometa", safetensors_bytes(tensors, pad=False))


def add_recipes(seeds):
    rdir = os.path.join(ROOT, "recipes")
    groups = ("arch_params", "checkpoint_params", "dataset_params", "training_hyperparams")

    def read(p):
        with open(p, "rb") as f:
            return f.read()

    for path in sorted(glob.glob(os.path.join(rdir, "*.yaml")) + glob.glob(os.path.join(rdir, "*", "*.yaml"))):
        seeds.add("recipe", os.path.basename(path)[:-5], read(path))
    overrides = b"\n".join([b"epochs=3", b"lr=0.01", b"training_hyperparams.max_epochs=2", b"+extra.key=[1, 2]",
                            b"~training_hyperparams.ema", b"batch_size=4", b"dataset_params=synthetic_dataset_params",
                            b"arch_params.num_classes=${dataset_params.num_classes}"])
    for main in ("test_tiny", "fashion_mnist_resnet", "cifar10_resnet"):
        text = read(os.path.join(rdir, main + ".yaml"))
        seeds.add("recipe", main + "-overrides", text + b"\0" + overrides)
    # A recipe whose every group is a fuzz-written group file (a copy of a built-in one).
    for i in range(3):
        sections = [b"defaults:\n" + b"".join(b"  - %s: fuzz\n" % g.encode() for g in groups) +
                    b"  - _self_\nexperiment_name: x_${training_hyperparams.max_epochs}\n", overrides]
        for g in groups:
            options = sorted(glob.glob(os.path.join(rdir, g, "*.yaml")))
            sections.append(read(options[i % len(options)]) if options else b"")
        seeds.add("recipe", "groups-%d" % i, b"\0".join(sections))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--max-len", action="append", default=[], help="NAME=BYTES: leave out bigger seeds")
    a = p.parse_args()
    max_len = {k: int(v) for k, v in (x.split("=", 1) for x in a.max_len)} or {t: 1 << 20 for t in TARGETS}
    for t in TARGETS:
        shutil.rmtree(os.path.join(a.out, t), ignore_errors=True)
    seeds = Seeds(a.out, max_len)
    add_small_torch_files(seeds)
    add_fixtures(seeds, os.path.join(a.out, "fixtures"))
    add_hostile_files(seeds)
    add_safetensors(seeds)
    add_recipes(seeds)
    print("seeds: " + ", ".join("%s %d" % (t, seeds.count[t]) for t in TARGETS))


if __name__ == "__main__":
    main()
