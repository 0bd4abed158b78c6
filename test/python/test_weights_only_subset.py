"""Static check: every pickle opcode and every GLOBAL that lib/pth's writer emits is one that
recent PyTorch's `torch.load(weights_only=True)` accepts (the default since PyTorch 2.6).

The writer's data.pkl (from `pth_roundtrip` of each fixture) is disassembled with
pickletools.genops and run through a small symbolic version of PyTorch's restricted
unpickler: opcodes outside its load() loop, GLOBALs outside _get_allowed_globals(),
REDUCE of anything but an allowed global, BUILD on anything but a tensor / Parameter /
OrderedDict, APPEND to a non-list, SETITEM(S) to a non-dict, BINPERSID of anything but a
('storage', <storage class>, key, location, numel) tuple, BINGET of an unset memo slot, or
a protocol other than 2 are all failures, listed by file and offset.

The allow-list is copied from pytorch/pytorch torch/_weights_only_unpickler.py (main
branch, 2025): the opcodes handled in Unpickler._load() and the names in
_get_allowed_globals() / _tensor_rebuild_functions(). Debian's torch 1.13 has an older,
narrower version (it refuses BINFLOAT), so the check is static rather than a torch.load.
Self-tests run the checker on a known-good torch.save pickle and on known-bad ones so that
the check cannot pass vacuously.
"""

import io
import os
import pickletools
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

# --- copied from torch/_weights_only_unpickler.py (pytorch main): Unpickler._load() ------
ALLOWED_OPCODES = {
    "GLOBAL", "NEWOBJ", "REDUCE", "BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "MARK",
    "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "NONE", "NEWFALSE", "NEWTRUE", "EMPTY_TUPLE",
    "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "BININT", "BININT1", "BININT2", "BINFLOAT",
    "BINUNICODE", "SHORT_BINSTRING", "BINPERSID", "BINGET", "LONG_BINGET", "BINPUT",
    "LONG_BINPUT", "LONG1", "PROTO", "STOP",
}

# --- copied from _get_allowed_globals() and _tensor_rebuild_functions() ----------------
REBUILD_FUNCTIONS = {
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy", "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._tensor._rebuild_from_type_v2",
}
STORAGE_CLASSES = {"torch.%sStorage" % n for n in (
    "Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
    "ComplexFloat", "ComplexDouble", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4")} | {
    "torch.storage.TypedStorage", "torch.storage.UntypedStorage"}
DTYPES = {"torch." + n for n in (
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128", "complex32", "qint8", "quint8", "qint32", "quint4x2",
    "quint2x4", "float8_e5m2", "float8_e4m3fn", "uint16", "uint32", "uint64")}
ALLOWED_GLOBALS = {
    "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
    "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
} | REBUILD_FUNCTIONS | STORAGE_CLASSES | DTYPES
# torch._utils NAME_MAPPING / IMPORT_MAPPING (protocol-2 names of builtins)
IMPORT_MAPPING = {"__builtin__": "builtins", "copy_reg": "copyreg"}

TENSOR_REBUILD = REBUILD_FUNCTIONS - {"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"}


class Sym:
    def __init__(self, kind, value=None):
        self.kind, self.value = kind, value

    def __repr__(self):
        return "%s(%r)" % (self.kind, self.value) if self.value is not None else self.kind


MARK = object()


def check_pickle(data):
    """Problems found in one pickle (empty list: acceptable to weights_only=True)."""
    problems = []
    stack, meta, memo = [], [], {}
    proto = None

    def prob(pos, msg):
        problems.append("offset %d: %s" % (pos, msg))

    def pop(pos, what):
        if not stack:
            raise ValueError("offset %d: stack underflow at %s" % (pos, what))
        return stack.pop()

    def pop_mark(pos, what):
        nonlocal stack
        if not meta:
            raise ValueError("offset %d: %s without MARK" % (pos, what))
        items = stack
        stack = meta.pop()
        return items

    def pop_call(pos, what):
        """The callable and its arguments of a REDUCE or NEWOBJ; the callable must be a global."""
        args = pop(pos, what)
        func = pop(pos, what)
        if func.kind != "global":
            prob(pos, "%s of a non-global %r" % (what, func))
        return func, args

    try:
        for op, arg, pos in pickletools.genops(data):
            name = op.name
            if name not in ALLOWED_OPCODES:
                prob(pos, "opcode %s is not accepted by weights_only=True" % name)
            if name == "PROTO":
                proto = arg
                if arg != 2:
                    prob(pos, "protocol %d (weights_only expects 2)" % arg)
            elif name in ("GLOBAL", "INST", "STACK_GLOBAL"):
                if name == "STACK_GLOBAL":
                    g = pop(pos, name)
                    m = pop(pos, name)
                    full = "%s.%s" % (m.value, g.value)
                else:
                    module, gname = arg.split(" ", 1)
                    full = IMPORT_MAPPING.get(module, module) + "." + gname
                if full not in ALLOWED_GLOBALS:
                    prob(pos, "GLOBAL %s is not in the weights_only allow-list" % full)
                stack.append(Sym("global", full))
            elif name == "REDUCE":
                func, args = pop_call(pos, name)
                if func.kind != "global":
                    stack.append(Sym("object"))
                    continue
                if args.kind != "tuple":
                    prob(pos, "REDUCE %s with non-tuple arguments %r" % (func.value, args))
                f = func.value
                if f in TENSOR_REBUILD:
                    stack.append(Sym("tensor"))
                elif f in ("torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state"):
                    stack.append(Sym("parameter"))
                elif f == "collections.OrderedDict":
                    stack.append(Sym("odict"))
                elif f == "collections.Counter":
                    stack.append(Sym("counter"))
                elif f == "_codecs.encode":
                    stack.append(Sym("bytes"))
                else:
                    stack.append(Sym("object", f))
            elif name == "NEWOBJ":
                cls, _ = pop_call(pos, name)
                stack.append(Sym("parameter" if cls.value == "torch.nn.parameter.Parameter" else "newobj"))
            elif name == "BUILD":
                pop(pos, name)
                if not stack:
                    raise ValueError("offset %d: stack underflow at BUILD" % pos)
                inst = stack[-1]
                if inst.kind not in ("tensor", "parameter", "odict", "newobj"):
                    prob(pos, "BUILD on %r (only Tensor, Parameter, OrderedDict are built)" % inst)
            elif name in ("APPEND", "APPENDS"):
                if name == "APPEND":
                    pop(pos, name)
                else:
                    pop_mark(pos, name)
                if not stack or stack[-1].kind != "list":
                    prob(pos, "%s to %r (only lists)" % (name, stack[-1] if stack else None))
            elif name in ("SETITEM", "SETITEMS"):
                if name == "SETITEM":
                    pop(pos, name)
                    pop(pos, name)
                else:
                    items = pop_mark(pos, name)
                    if len(items) % 2:
                        prob(pos, "SETITEMS with an odd number of items")
                if not stack or stack[-1].kind not in ("dict", "odict", "counter"):
                    prob(pos, "%s on %r (only dict / OrderedDict)" % (name, stack[-1] if stack else None))
            elif name == "MARK":
                meta.append(stack)
                stack = []
            elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
                if name == "TUPLE":
                    items = pop_mark(pos, name)
                else:
                    n = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3, "EMPTY_TUPLE": 0}[name]
                    items = [pop(pos, name) for _ in range(n)][::-1]
                stack.append(Sym("tuple", items))
            elif name == "EMPTY_LIST":
                stack.append(Sym("list"))
            elif name in ("EMPTY_DICT",):
                stack.append(Sym("dict"))
            elif name == "EMPTY_SET":
                stack.append(Sym("set"))
            elif name in ("NONE", "NEWFALSE", "NEWTRUE", "BININT", "BININT1", "BININT2", "BINFLOAT", "LONG1",
                          "BININT", "INT", "LONG", "LONG4", "FLOAT"):
                stack.append(Sym("scalar", arg))
            elif name in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
                          "BINSTRING", "STRING"):
                stack.append(Sym("str", arg))
            elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                stack.append(Sym("bytes"))
            elif name == "BINPERSID":
                pid = pop(pos, name)
                items = pid.value if pid.kind == "tuple" else None
                if not items or items[0].kind != "str" or items[0].value != "storage":
                    prob(pos, "BINPERSID of %r (only ('storage', ...) tuples)" % pid)
                elif len(items) != 5 or items[1].kind != "global" or items[1].value not in STORAGE_CLASSES \
                        or items[2].kind != "str" or items[3].kind != "str":
                    prob(pos, "BINPERSID tuple %r is not ('storage', <storage class>, key, location, numel)" % items)
                stack.append(Sym("storage"))
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                if arg not in memo:
                    prob(pos, "%s %d of an unset memo slot" % (name, arg))
                    stack.append(Sym("object"))
                else:
                    stack.append(memo[arg])
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                if not stack:
                    raise ValueError("offset %d: %s on an empty stack" % (pos, name))
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name == "FRAME":
                pass
            elif name == "STOP":
                if len(stack) != 1 or meta:
                    prob(pos, "STOP with %d items on the stack and %d open MARKs" % (len(stack), len(meta)))
            else:
                stack.append(Sym("object", name))
    except ValueError as e:
        problems.append("not a well-formed pickle: %s" % e)
    if proto is None:
        problems.append("no PROTO opcode (weights_only expects protocol 2)")
    return problems


def self_test(c, torch, workdir):
    """The checker accepts torch's own protocol-2 output and rejects known-bad pickles."""
    import collections
    sd = collections.OrderedDict([("w", torch.ones(2)), ("p", torch.nn.Parameter(torch.zeros(1)))])
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    good = io.BytesIO()
    torch.save({"sd": sd, "acc": 0.5, "b": b"\x01\x02", "l": [1, (2, 3)], "n": None}, good)
    with zipfile.ZipFile(io.BytesIO(good.getvalue())) as z:
        pkl = z.read("archive/data.pkl")
    probs = check_pickle(pkl)
    c.check(not probs, "self-test: torch.save's own protocol-2 pickle flagged: %s" % probs)
    p4 = io.BytesIO()
    torch.save({"x": torch.ones(1)}, p4, pickle_protocol=4)
    with zipfile.ZipFile(io.BytesIO(p4.getvalue())) as z:
        probs = check_pickle(z.read("archive/data.pkl"))
    c.check(any("FRAME" in p or "SHORT_BINUNICODE" in p for p in probs),
            "self-test: a protocol-4 pickle (FRAME, SHORT_BINUNICODE) was not flagged: %s" % probs)
    bad = {
        "restore_type_tag": b"\x80\x02ctorch.jit._pickle\nrestore_type_tag\n}X\x04\x00\x00\x00Dict\x86R.",
        "os.system": b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.",
        "build on list": b"\x80\x02]}b.",
        "binbytes": b"\x80\x02C\x01a.",
        "unset memo": b"\x80\x02h\x07.",
        "append to dict": b"\x80\x02}K\x01a.",
    }
    for what, data in bad.items():
        c.check(check_pickle(data), "self-test: %s not flagged" % what)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, need_roundtrip=True)
    torch = sgtest.import_torch()
    os.makedirs(args.workdir, exist_ok=True)
    fx, expected = sgtest.ensure_fixtures(args)
    out_dir = sgtest.fresh_dir(os.path.join(args.workdir, "out"))
    c = sgtest.Checker("test_weights_only_subset")
    self_test(c, torch, args.workdir)

    skip = {"legacy_sg.pth", "sg_deflated.pth", "sg_sgd_modified.pth"}   # same objects as sg_sgd.pth
    seen_ops, seen_globals = set(), set()
    for name in sorted(expected["files"]):
        if name in skip:
            continue
        dst = os.path.join(out_dir, name)
        r = sgtest.run([os.path.abspath(args.roundtrip), os.path.join(fx, name), dst])
        if not c.check(r.rc == 0, "%s: pth_roundtrip failed: %s" % (name, r.describe())):
            continue
        try:
            with zipfile.ZipFile(dst) as z:
                pk = [n for n in z.namelist() if n.endswith("/data.pkl")]
                data = z.read(pk[0])
        except Exception as e:
            c.fail("%s: cannot read data.pkl of the written file: %s" % (name, e))
            continue
        for p in check_pickle(data):
            c.fail("%s (written by lib/pth): %s" % (name, p))
        try:
            for op, arg, _ in pickletools.genops(data):
                seen_ops.add(op.name)
                if op.name == "GLOBAL":
                    seen_globals.add(arg.replace(" ", "."))
        except Exception:
            pass
        os.remove(dst)
    if args.verbose or True:
        print("opcodes emitted: %s" % " ".join(sorted(seen_ops)))
        print("globals emitted: %s" % " ".join(sorted(seen_globals)))
    c.report()


if __name__ == "__main__":
    main()
