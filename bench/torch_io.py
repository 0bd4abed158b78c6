#!/usr/bin/python3
"""Python twin of pth_bench and ckpt_bench, for scripts/bench-io and bench-ckpt. Run with Debian's /usr/bin/python3 (it has torch).

  torch_io.py shapes SIZE_MB OUT              write the shape list of a ~SIZE_MB state dict (no torch needed)
  torch_io.py save SHAPES_FILE OUT [--repeat N]   one line per run: seconds of torch.save, tensor bytes
  torch_io.py clone SHAPES_FILE [--repeat N]  one line per run: seconds of cloning every tensor, tensor bytes
  torch_io.py load IN [--repeat N]            one line per run: seconds of torch.load, tensor bytes
  torch_io.py load-into IN [--repeat N]       the same for torch.load + copy into existing tensors
  torch_io.py list IN                         torch.load, then print path, dtype, shape of every tensor
  torch_io.py check SHAPES_FILE A B           A and B hold the same tensors, as the shape list says

SHAPES_FILE: one tensor per line, "name d0 d1 ...", float32. Tensor number k (from 0) holds
element i (row-major) = ((i + k) mod 1024) / 1024 -- exactly what pth_bench writes.
Timing rules match pth_bench: tensors are made before the clock starts, dirty pages are
synced before each save, only the torch.save / torch.load call is timed.
"""
import collections
import os
import sys
import time

MB = 1_000_000


# --- the shape list -----------------------------------------------------------------

def resnet50_shapes():
    """A ResNet-50's float32 state dict (num_batches_tracked left out: float32 only)."""
    out = []

    def bn(prefix, c):
        for p in ("weight", "bias", "running_mean", "running_var"):
            out.append((f"{prefix}.{p}", [c]))

    out.append(("backbone.conv1.weight", [64, 3, 7, 7]))
    bn("backbone.bn1", 64)
    inplanes = 64
    for li, (planes, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3)), start=1):
        for b in range(blocks):
            pre = f"backbone.layer{li}.{b}"
            out.append((f"{pre}.conv1.weight", [planes, inplanes, 1, 1]))
            bn(f"{pre}.bn1", planes)
            out.append((f"{pre}.conv2.weight", [planes, planes, 3, 3]))
            bn(f"{pre}.bn2", planes)
            out.append((f"{pre}.conv3.weight", [planes * 4, planes, 1, 1]))
            bn(f"{pre}.bn3", planes * 4)
            if b == 0:
                out.append((f"{pre}.downsample.0.weight", [planes * 4, inplanes, 1, 1]))
                bn(f"{pre}.downsample.1", planes * 4)
            inplanes = planes * 4
    out.append(("backbone.fc.weight", [1000, 2048]))
    out.append(("backbone.fc.bias", [1000]))
    return out


def transformer_layer_shapes(i, d):
    pre = f"encoder.layers.{i}"
    return [
        (f"{pre}.norm1.weight", [d]), (f"{pre}.norm1.bias", [d]),
        (f"{pre}.attn.in_proj.weight", [3 * d, d]), (f"{pre}.attn.in_proj.bias", [3 * d]),
        (f"{pre}.attn.out_proj.weight", [d, d]), (f"{pre}.attn.out_proj.bias", [d]),
        (f"{pre}.norm2.weight", [d]), (f"{pre}.norm2.bias", [d]),
        (f"{pre}.mlp.fc1.weight", [4 * d, d]), (f"{pre}.mlp.fc1.bias", [4 * d]),
        (f"{pre}.mlp.fc2.weight", [d, 4 * d]), (f"{pre}.mlp.fc2.bias", [d]),
    ]


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def make_shapes(size_mb):
    """A CNN backbone + a d=1024 transformer whose depth (and token embedding) fill SIZE_MB."""
    d = 1024
    shapes = resnet50_shapes()
    target = size_mb * MB // 4   # float32 elements
    rest = target - sum(numel(s) for _, s in shapes) - 2 * d
    per_layer = sum(numel(s) for _, s in transformer_layer_shapes(0, d))
    layers = max(1, int(rest * 0.85) // per_layer)
    vocab = max(1, (rest - layers * per_layer) // d)
    shapes.append(("encoder.embed_tokens.weight", [vocab, d]))
    for i in range(layers):
        shapes += transformer_layer_shapes(i, d)
    shapes += [("encoder.norm.weight", [d]), ("encoder.norm.bias", [d])]
    return shapes


def write_shapes(path, shapes):
    with open(path, "w") as f:
        for name, shape in shapes:
            f.write(name + " " + " ".join(map(str, shape)) + "\n")


def read_shapes(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, *dims = line.split()
                out.append((name, [int(x) for x in dims]))
    return out


# --- tensors --------------------------------------------------------------------------

def make_state_dict(shapes):
    import torch
    row = (torch.arange(1024, dtype=torch.float32) / 1024)   # exact: small ints / 2**10
    sd = collections.OrderedDict()
    for k, (name, shape) in enumerate(shapes):
        n = numel(shape)
        off = k % 1024
        reps = (n + off + 1023) // 1024
        sd[name] = row.repeat(reps)[off:off + n].clone().reshape(shape)
    return sd


def tensor_bytes(obj):
    import torch
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    return 0


def parse_repeat(args):
    if not args:
        return 1
    if len(args) == 2 and args[0] == "--repeat":
        return int(args[1])
    raise SystemExit(f"unknown options {args}")


def cmd_save(shapes_file, out, repeat):
    import torch
    sd = make_state_dict(read_shapes(shapes_file))
    total = tensor_bytes(sd)
    for _ in range(repeat):
        os.sync()
        t = time.perf_counter()
        torch.save(sd, out)
        dt = time.perf_counter() - t
        print(f"{dt:.6f} {total}", flush=True)


def cmd_clone(shapes_file, repeat):
    """A snapshot of the state in Python: every tensor cloned (what a background save
    must copy before it returns; torch.save itself blocks for the whole write)."""
    sd = make_state_dict(read_shapes(shapes_file))
    total = tensor_bytes(sd)
    for _ in range(repeat):
        t = time.perf_counter()
        copy = {k: v.clone() for k, v in sd.items()}
        dt = time.perf_counter() - t
        del copy
        print(f"{dt:.6f} {total}", flush=True)


def cmd_load(path, repeat):
    import torch
    for _ in range(repeat):
        t = time.perf_counter()
        sd = torch.load(path)
        dt = time.perf_counter() - t
        total = tensor_bytes(sd)
        del sd
        print(f"{dt:.6f} {total}", flush=True)


def cmd_load_into(path, repeat):
    """torch.load, then copy every tensor into tensors allocated (and touched) beforehand,
    as model.load_state_dict does; only the load and the copies are timed."""
    import torch
    template = torch.load(path)
    targets = {k: torch.zeros_like(v) for k, v in template.items()}
    del template
    for _ in range(repeat):
        t = time.perf_counter()
        sd = torch.load(path)
        with torch.no_grad():
            for k, v in sd.items():
                targets[k].copy_(v)
        dt = time.perf_counter() - t
        total = tensor_bytes(sd)
        del sd
        print(f"{dt:.6f} {total}", flush=True)


def cmd_list(path):
    import torch
    sd = torch.load(path)
    out = []

    def walk(prefix, v):
        if isinstance(v, torch.Tensor):
            out.append(f"{prefix}\t{str(v.dtype).replace('torch.', '')}\t{list(v.shape)}")
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(f"{prefix}/{k}" if prefix else str(k), item)
        elif isinstance(v, (list, tuple)):
            for i, item in enumerate(v):
                walk(f"{prefix}/{i}" if prefix else str(i), item)

    walk("", sd)
    sys.stdout.write("\n".join(out) + "\n")


def cmd_check(shapes_file, a_path, b_path):
    import torch
    shapes = read_shapes(shapes_file)
    a = torch.load(a_path)
    b = torch.load(b_path)
    problems = []
    if list(a.keys()) != [n for n, _ in shapes]:
        problems.append(f"{a_path}: keys differ from the shape list")
    if list(b.keys()) != [n for n, _ in shapes]:
        problems.append(f"{b_path}: keys differ from the shape list")
    for k, (name, shape) in enumerate(shapes):
        ta, tb = a.get(name), b.get(name)
        if ta is None or tb is None:
            continue
        if list(ta.shape) != shape or ta.dtype != torch.float32:
            problems.append(f"{a_path}: {name} is {ta.dtype} {list(ta.shape)}, expected float32 {shape}")
        if not torch.equal(ta, tb):
            problems.append(f"{name}: tensors differ")
        # spot-check the fill formula on the first elements
        flat = ta.reshape(-1)[:2048]
        expect = ((torch.arange(flat.numel()) + k) % 1024).to(torch.float32) / 1024
        if not torch.equal(flat, expect):
            problems.append(f"{name}: values are not the expected fill")
    for p in problems[:20]:
        print(p)
    print(f"check: {len(shapes)} tensors, {tensor_bytes(a)} bytes, {len(problems)} problems")
    sys.exit(1 if problems else 0)


def main(argv):
    if len(argv) >= 3 and argv[0] == "shapes":
        write_shapes(argv[2], make_shapes(int(argv[1])))
    elif len(argv) >= 3 and argv[0] == "save":
        cmd_save(argv[1], argv[2], parse_repeat(argv[3:]))
    elif len(argv) >= 2 and argv[0] == "clone":
        cmd_clone(argv[1], parse_repeat(argv[2:]))
    elif len(argv) >= 2 and argv[0] == "load":
        cmd_load(argv[1], parse_repeat(argv[2:]))
    elif len(argv) >= 2 and argv[0] == "load-into":
        cmd_load_into(argv[1], parse_repeat(argv[2:]))
    elif len(argv) == 2 and argv[0] == "list":
        cmd_list(argv[1])
    elif len(argv) == 4 and argv[0] == "check":
        cmd_check(argv[1], argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
