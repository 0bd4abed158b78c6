"""Fixtures for the cross-check tests, made by real PyTorch (torch.save) at test time.

    /usr/bin/python3 make_fixtures.py --out DIR

writes the .pth files below into DIR plus DIR/expected.json: for every file what
`sg-ckpt-inspect --json --hash --stats` must report, computed here in Python from
torch.load of the file (tensor paths by the design's rules, dtype, shape, stride,
storage_offset, storage record key, bytes, sha256, stats; top-level keys; scalars).

Fixtures (name: what it covers):
  sg_sgd.pth           (a) SuperGradients-style checkpoint of torchvision resnet18(num_classes=10):
                       net, acc, epoch, metrics, _best_ckpt_metrics, SGD(momentum, nesterov,
                       weight_decay) state after 2 real steps, ema_net, scaler_state_dict {},
                       torch_scheduler_state_dict (StepLR)
  sg_adam.pth          (a) the same with Adam optimizer state (exp_avg, exp_avg_sq, step)
  state_dict.pth       a plain resnet18 state_dict (OrderedDict + _metadata, int64 buffers)
  dtypes.pth           (b) all 12 dtypes: contiguous, transposed, stepped and offset views
                       sharing one storage, 0-dim, empty, expanded (stride 0), channels_last,
                       int extremes, NaN/Inf values (for --stats)
  params.pth           (c) nn.Parameter with requires_grad True/False, a requires_grad
                       plain tensor, a state_dict(keep_vars=True)
  nested.pth           (d) nested lists/tuples/dicts, big and negative ints, int64 limits,
                       unicode keys, None, bools, floats incl. nan/inf, bytes, int keys,
                       tensors inside lists/tuples, one tensor reachable at two paths
  many_keys.pth        (e) 1600 top-level keys (several SETITEMS batches), 800 tensors
  bare_tensor.pth      a top-level tensor (path "")
  top_list.pth         a top-level list
  legacy_sg.pth        (f) sg_sgd's object in the legacy (non-zip) format
  legacy_dtypes.pth    (f) dtypes' object in the legacy format
  proto4_dtypes.pth, proto5_dtypes.pth, proto4_nested.pth, proto5_nested.pth   (g)
  sg_deflated.pth      (h) sg_sgd.pth re-zipped by zipfile with ZIP_DEFLATED, same names
  stem_differs.pth     (i) saved as "model.pth", renamed: root folder "model"
  from_buffer.pth      (i) saved to a BytesIO: root folder "archive"
  sg_sgd_modified.pth  for --diff: one weight changed, a key added, a key removed, a dtype
                       changed, epoch changed (expected diff in expected.json["diff"])
"""

import argparse
import collections
import hashlib
import io
import json
import math
import os
import shutil
import zipfile

import torch

DTYPE_NAMES = {
    torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
    torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
    torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
    torch.complex64: "complex64", torch.complex128: "complex128",
}
FLOATING = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


# ---------------------------------------------------------------------------------------
# Describing a loaded object the way sg-ckpt-inspect must

def key_str(k):
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise TypeError("fixture uses an unsupported dict key %r" % (k,))
    return k if isinstance(k, str) else str(k)


def join(prefix, part):
    return part if prefix is None else prefix + "/" + part


def walk_tensors(obj, prefix=None, out=None):
    """[(path, tensor)] depth-first in container order; a top-level tensor has path ""."""
    if out is None:
        out = []
    if isinstance(obj, torch.Tensor):
        out.append(("" if prefix is None else prefix, obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk_tensors(v, join(prefix, key_str(k)), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            walk_tensors(v, join(prefix, str(i)), out)
    return out


def contains_tensor(obj):
    return bool(walk_tensors(obj))


def render(v):
    """A scalar value as sg-ckpt-inspect's JSON renders it."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -2**63 <= v < 2**63 else str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, bytes):
        return {"bytes_hex": v.hex()}
    if isinstance(v, (list, tuple)):
        return [render(x) for x in v]
    if isinstance(v, dict):
        return {key_str(k): render(x) for k, x in v.items()}
    raise TypeError("fixture holds an unsupported scalar %r" % (v,))


def tensor_bytes(t):
    t = t.detach()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16) if t.dim() > 0 else t.reshape(1).view(torch.int16).reshape(())
    return t.contiguous().numpy().tobytes()


def tensor_sha256(t):
    return hashlib.sha256(tensor_bytes(t)).hexdigest()


def storage_id(t):
    return t.storage()._storage._cdata


def tensor_stats(t):
    x = t.detach().double().reshape(-1)
    nan = int(torch.isnan(x).sum())
    inf = int(torch.isinf(x).sum())
    fin = x[torch.isfinite(x)]
    st = {"count": x.numel(), "nan": nan, "inf": inf}
    if fin.numel():
        st.update(min=float(fin.min()), max=float(fin.max()), mean=float(fin.mean()))
    else:
        st.update(min=None, max=None, mean=None)
    return st


def describe(obj, fmt, root, version, zip_keys=None):
    """Expected description of one file (see module doc)."""
    tensors = walk_tensors(obj)
    groups_of_storage = {}
    out = []
    for path, t in tensors:
        sid = storage_id(t)
        group = groups_of_storage.setdefault(sid, len(groups_of_storage))
        e = {
            "path": path,
            "dtype": DTYPE_NAMES[t.dtype],
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "storage_offset": t.storage_offset(),
            "storage_group": group,
            "storage_numel": t.storage().size(),
            "device": "cpu",
            "requires_grad": bool(t.requires_grad),
            "parameter": isinstance(t, torch.nn.Parameter),
            "bytes": t.numel() * t.element_size(),
            "sha256": tensor_sha256(t),
        }
        if t.dtype in FLOATING:
            e["stats"] = tensor_stats(t)
        out.append(e)
    # torch.save names storage records "0", "1", ... in order of first pickling, which is
    # the depth-first container order used for paths.
    if fmt == "zip":
        for e in out:
            e["storage"] = str(e["storage_group"])
        if zip_keys is not None and set(zip_keys) != {str(i) for i in range(len(groups_of_storage))}:
            raise AssertionError("fixture self-check: storage keys %s do not follow first-use order"
                                 % sorted(zip_keys))
    else:
        for e in out:
            e["storage"] = None   # legacy keys are arbitrary strings; sharing still checked
    if isinstance(obj, dict):
        keys = [key_str(k) for k in obj]
        scalars = {key_str(k): render(v) for k, v in obj.items() if not contains_tensor(v)}
    else:
        keys, scalars = [], None
    return {"format": fmt, "root": root, "version": version, "keys": keys,
            "scalars": scalars, "tensors": out}


def describe_file(path):
    obj = torch.load(path, map_location="cpu")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            root = names[0].split("/")[0]
            version = int(z.read(root + "/version").decode().strip())
            keys = [n[len(root) + len("/data/"):] for n in names if n.startswith(root + "/data/")]
        return describe(obj, "zip", root, version, keys)
    return describe(obj, "legacy", "", 1001)


# ---------------------------------------------------------------------------------------
# The objects

def _train_steps(model, opt, steps=2):
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(4, 3, 32, 32, generator=g)
        y = torch.randint(0, 10, (4,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def sg_checkpoint(optimizer):
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    ema = torchvision.models.resnet18(num_classes=10)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    model.train()
    _train_steps(model, opt)
    sched.step()
    metrics = {"tracked_metric_name": "Accuracy", "valid": {"Accuracy": 0.91, "Loss": 0.3},
               "train": {"Loss": 0.4}}
    return {
        "net": model.state_dict(),
        "acc": 0.91,
        "epoch": 3,
        "metrics": metrics,
        "_best_ckpt_metrics": {"Accuracy": 0.91, "Loss": 0.3, "epoch": 3},
        "optimizer_state_dict": opt.state_dict(),
        "ema_net": ema.state_dict(),
        "scaler_state_dict": {},
        "torch_scheduler_state_dict": sched.state_dict(),
    }


def dtypes_object():
    g = torch.Generator().manual_seed(2)
    obj = {}
    for dt in DTYPE_NAMES:
        name = DTYPE_NAMES[dt]
        if dt in FLOATING or dt.is_complex:
            full = torch.randn(4, 6, generator=g, dtype=torch.float64).to(dt) if not dt.is_complex \
                else torch.randn(4, 6, generator=g, dtype=dt)
            scalar = torch.tensor(1.5, dtype=dt)
        elif dt == torch.bool:
            full = torch.rand(4, 6, generator=g) > 0.5
            scalar = torch.tensor(True)
        else:
            info = torch.iinfo(dt)
            full = torch.randint(max(info.min, -1000), min(info.max, 1000), (4, 6), generator=g).to(dt)
            full[0, 0] = info.min
            full[0, 1] = info.max
            scalar = torch.tensor(info.max, dtype=dt)
        obj[name] = {
            "full": full,
            "T": full.t(),                      # stride (1, 6)
            "step": full[:, 1::2],              # stride (6, 2), offset 1
            "offset": full[1:, 2:],             # offset 8
            "row": full[3],                     # offset 18
            "elem": full[2, 3],                 # 0-dim view, offset 15
            "scalar": scalar,                   # 0-dim own storage
            "empty": torch.empty(0, 3, dtype=dt),
        }
    base = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    obj["layouts"] = {
        "channels_last": base.contiguous(memory_format=torch.channels_last),
        "expand": base[0, 0, 0].expand(3, 5),           # stride (0, 1)
        "five_d": torch.arange(12.).reshape(2, 1, 3, 1, 2),
        "narrow_of_big": torch.arange(1000, dtype=torch.int64)[500:510],   # storage >> view
        "empty_view": base[1, 1:1],                     # 0 elements, non-zero offset
    }
    specials = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), -2.5, 0.0, -0.0,
                             3.25, 1e-40, 7.0, float("nan")], dtype=torch.float64)
    obj["specials"] = {name: specials.to(dt) for dt, name in DTYPE_NAMES.items() if dt in FLOATING}
    obj["specials"]["all_nan"] = torch.full((3,), float("nan"))
    return obj


def params_object():
    torch.manual_seed(3)
    lin = torch.nn.Linear(3, 2)
    lin.bias.requires_grad_(False)
    return {
        "w": torch.nn.Parameter(torch.randn(3, 4)),
        "frozen": torch.nn.Parameter(torch.randn(2), requires_grad=False),
        "plain_requires_grad": torch.randn(3).requires_grad_(),
        "plain": torch.randn(2, 2),
        "module": lin.state_dict(keep_vars=True),
        "int_param": torch.nn.Parameter(torch.arange(4), requires_grad=False),
    }


def nested_object():
    t = [torch.arange(6, dtype=torch.int32).reshape(2, 3), torch.ones(2, dtype=torch.float64),
         torch.zeros(3, dtype=torch.bool), torch.arange(4.), torch.tensor([1, 2], dtype=torch.uint8)]
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -65536, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
                 2**32, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, 2**70, -2**80, 10**30],
        "floats": [0.0, -0.0, 1.5, -2.25, 1e-310, 1e300, 0.1, 1 / 3, float("nan"), float("inf"),
                   float("-inf")],
        "misc": (None, True, False, "", "text with\nnewline, \"quotes\", \\ and \t tab",
                 b"\x00\xff bytes\x7f", "\u00e9\u00df\u4e2d"),
        "\u043a\u043b\u044e\u0447": {"\u65e5\u672c": "\u5024", "\U0001F600": [1, (2, 3), {"x": None}]},
        "int_keys": {0: "zero", 7: "seven", -3: "neg", 2**40: "big", 2**70: "huge"},
        "deep": [[[[{"a": [1, [2, [3]]]}]]]],
        "empty": {"l": [], "t": (), "d": {}, "od": collections.OrderedDict()},
        "ordered": collections.OrderedDict([("z", 1), ("a", 2), ("m", [3])]),
        "tensors": {"list": [t[0], t[1]], "tuple": (t[2], {"inner": t[3]}), 5: t[4]},
        "shared": t[0],          # the same tensor object again: path appears twice
        "epoch": 3,
        "flag": False,
        "nothing": None,
    }


def many_keys_object():
    obj = {}
    for i in range(1600):
        if i % 2 == 0:
            obj["k%04d" % i] = torch.full((2,), i, dtype=torch.int64)
        elif i % 3 == 0:
            obj["k%04d" % i] = "v%d" % i
        else:
            obj["k%04d" % i] = i * 1000003
    return obj


# ---------------------------------------------------------------------------------------

def _save(obj, path, **kw):
    torch.save(obj, path, **kw)


def _rezip_deflated(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))


def make_all(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for n in os.listdir(out_dir):
        full = os.path.join(out_dir, n)
        if os.path.isdir(full):
            shutil.rmtree(full)
        else:
            os.remove(full)
    P = lambda n: os.path.join(out_dir, n)  # noqa: E731

    sg = sg_checkpoint("sgd")
    _save(sg, P("sg_sgd.pth"))
    _save(sg_checkpoint("adam"), P("sg_adam.pth"))
    _save(sg["net"], P("state_dict.pth"))
    dt = dtypes_object()
    _save(dt, P("dtypes.pth"))
    _save(params_object(), P("params.pth"))
    ne = nested_object()
    _save(ne, P("nested.pth"))
    _save(many_keys_object(), P("many_keys.pth"))
    _save(torch.arange(12, dtype=torch.float32).reshape(3, 4).t(), P("bare_tensor.pth"))
    _save([torch.ones(2), {"a": 1, "b": torch.zeros(1, dtype=torch.int8)}, 3, "s"], P("top_list.pth"))
    _save(sg, P("legacy_sg.pth"), _use_new_zipfile_serialization=False)
    _save(dt, P("legacy_dtypes.pth"), _use_new_zipfile_serialization=False)
    for proto in (4, 5):
        _save(dt, P("proto%d_dtypes.pth" % proto), pickle_protocol=proto)
        _save(ne, P("proto%d_nested.pth" % proto), pickle_protocol=proto)
    _rezip_deflated(P("sg_sgd.pth"), P("sg_deflated.pth"))
    sub = P("stem_tmp")
    os.makedirs(sub)
    _save(params_object(), os.path.join(sub, "model.pth"))
    os.rename(os.path.join(sub, "model.pth"), P("stem_differs.pth"))
    os.rmdir(sub)
    buf = io.BytesIO()
    torch.save(params_object(), buf)
    with open(P("from_buffer.pth"), "wb") as f:
        f.write(buf.getvalue())

    # The --diff pair: sg_sgd.pth vs a copy changed in exactly five ways.
    mod = torch.load(P("sg_sgd.pth"))
    net_a, net_b = sg["net"], mod["net"]
    w = net_b["layer1.0.conv1.weight"]
    w[0, 0, 0, 0] += 0.5
    w[1, 2, 1, 1] -= 0.25
    max_abs = float((w.double() - net_a["layer1.0.conv1.weight"].double()).abs().max())
    del net_b["fc.bias"]
    net_b["extra.weight"] = torch.ones(3)
    mod["ema_net"]["fc.weight"] = mod["ema_net"]["fc.weight"].double()
    mod["epoch"] = 4
    _save(mod, P("sg_sgd_modified.pth"))
    fc_shape = list(sg["ema_net"]["fc.weight"].shape)
    diff = {
        "a": "sg_sgd.pth", "b": "sg_sgd_modified.pth", "identical": False,
        "added": ["net/extra.weight"],
        "removed": ["net/fc.bias"],
        "changed": [{"path": "ema_net/fc.weight", "a": {"dtype": "float32", "shape": fc_shape},
                     "b": {"dtype": "float64", "shape": fc_shape}}],
        "value_changed": [{"path": "net/layer1.0.conv1.weight", "max_abs_diff": max_abs}],
        "scalars_changed": [{"path": "epoch", "a": 3, "b": 4}],
    }

    files = {}
    for n in sorted(os.listdir(out_dir)):
        if n.endswith(".pth"):
            files[n] = describe_file(P(n))
    if files["stem_differs.pth"]["root"] != "model" or files["from_buffer.pth"]["root"] != "archive":
        raise AssertionError("fixture self-check: unexpected zip roots")
    expected = {"torch_version": torch.__version__, "files": files, "diff": diff}
    tmp = P("expected.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1, allow_nan=False)
    os.replace(tmp, P("expected.json"))
    return expected


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    exp = make_all(a.out)
    n_t = sum(len(f["tensors"]) for f in exp["files"].values())
    print("made %d fixtures (%d tensors) in %s" % (len(exp["files"]), n_t, a.out))


if __name__ == "__main__":
    main()
