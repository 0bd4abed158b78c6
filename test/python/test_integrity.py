"""Nothing lost, nothing escapes: corrupted, changing and non-regular inputs.

Fixtures are real files made at test time: torch.save output (and, in the training part,
a run made by sg-train plus a torch.save re-save of its checkpoint), then edited:
  - one flipped byte in a tensor record: the storage of a tensor the program uses (found
    by reading data.pkl with every tensor replaced by its record key),
  - one flipped byte in data.pkl (a letter of the key 'epoch'),
  - one flipped byte in a deflated copy (Python's zipfile, ZIP_DEFLATED at level 0: the
    payload stays verbatim in stored deflate blocks, so the edit still inflates, to
    different bytes).
PyTorch ignores CRCs: torch.load of each edited file succeeds and shows the edit (the
control that the edit is real and that only a CRC check can notice it).

Every program that uses the corrupted data must exit 2 and print exactly one line
`<program>: error: ...<file as given>: CRC mismatch in record '<record>'`, nothing on stdout,
and leave its folder as it was: every file's bytes, size, mtime and mode, nothing new (no
output, no temp file, no run directory). Describing a file (no tensor data used) still works
when only a tensor record is damaged, and --verify reports the CRC problem (exit 1).

A FIFO given as an input: exit 2 at once, one line "not a regular file"; nothing ever opens
its writing end, so a reader that waited for a writer would hang until the timeout.

A file truncated right after the program maps it (LD_PRELOAD of test/tools/truncate_on_map,
so the moment is exact, not a race): exit 2 and one line `<program>: error: <file>: the
file changed while it was being read`, not a death by SIGBUS; nothing new in the folder.

Parts: sg-ckpt-inspect and sg-ckpt-adapt always (also in a SG_WITH_TORCH=OFF build); sg-train,
sg-resume and sg-eval when --train, --resume and --eval are given (the full build's
py_integrity_training).
"""

import collections
import io
import os
import pickle
import re
import shutil
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
import test_bad_input_matrix as matrix  # noqa: E402  (Row, check_output)

TIMEOUT = 60


# ---------------------------------------------------------------------------------------
# Reading and editing real files

class _RecordKeys(pickle.Unpickler):
    """Unpickles a torch.save data.pkl with every tensor replaced by its storage record key."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_parameter"):
            return lambda storage, *rest: storage
        return lambda *args: None   # storage classes and dtypes: not needed here

    def persistent_load(self, pid):
        return pid[2]


def record_keys(path):
    """(zip root, {tensor path: record name under data/}) of a torch.save zip file."""
    with zipfile.ZipFile(path) as z:
        root = z.namelist()[0].split("/")[0]
        tree = _RecordKeys(io.BytesIO(z.read(root + "/data.pkl"))).load()
    keys = {}

    def walk(prefix, v):
        if isinstance(v, str) and prefix:
            keys.setdefault(prefix, v)
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(prefix + "/" + str(k) if prefix else str(k), item)
        elif isinstance(v, (list, tuple)):
            for i, item in enumerate(v):
                walk(prefix + "/" + str(i) if prefix else str(i), item)

    walk("", tree)
    return root, keys


def used_weights(path):
    """The tensor paths of the weights sg-eval and checkpoint_path use: ema_net if present, else net."""
    _, keys = record_keys(path)
    for group in ("ema_net", "net"):
        paths = [p for p in keys if p.startswith(group + "/")]
        if paths:
            return paths
    raise SystemExit("FAIL: test bug: %s has neither net nor ema_net tensors" % path)


def record_data_offset(data, name):
    """Offset of a zip entry's data in the file's bytes (from its local header)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info


def flip_tensor_byte(src, dst, tensor_path):
    """Copies src to dst with one byte of tensor_path's storage record flipped; returns the record name."""
    root, keys = record_keys(src)
    record = "%s/data/%s" % (root, keys[tensor_path])
    data = bytearray(open(src, "rb").read())
    offset, info = record_data_offset(bytes(data), record)
    data[offset + info.file_size // 2] ^= 0x10
    with open(dst, "wb") as f:
        f.write(data)
    return record


def flip_pickle_byte(src, dst):
    """Copies src to dst with the key 'epoch' in data.pkl spelt 'Epoch'; returns the record name."""
    root, _ = record_keys(src)
    record = root + "/data.pkl"
    data = bytearray(open(src, "rb").read())
    offset, info = record_data_offset(bytes(data), record)
    at = bytes(data[offset:offset + info.file_size]).index(b"epoch")
    data[offset + at] ^= 0x20
    with open(dst, "wb") as f:
        f.write(data)
    return record


def deflated_copy(src, dst, flip_in=None):
    """src re-zipped with ZIP_DEFLATED at level 0; with flip_in, one byte of that record's
    payload flipped inside its stored deflate block (the stream stays valid)."""
    with zipfile.ZipFile(src) as z:
        entries = [(i.filename, z.read(i)) for i in z.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=0) as z:
        for name, payload in entries:
            z.writestr(name, payload)
    data = bytearray(buf.getvalue())
    if flip_in:
        payload = dict(entries)[flip_in]
        middle = len(payload) // 2
        probe = payload[middle:middle + 32]
        offset, _ = record_data_offset(bytes(data), flip_in)
        at = bytes(data).index(probe, offset)
        data[at] ^= 0x10
    with open(dst, "wb") as f:
        f.write(data)


def same(torch, a, b):
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(torch, a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(torch, x, y) for x, y in zip(a, b))
    return a == b


def check_torch_ignores(c, torch, good, bad, what):
    """torch.load reads the edited file (PyTorch checks no CRC) and sees something else."""
    try:
        a, b = torch.load(good), torch.load(bad)
    except Exception as e:
        c.fail("test bug: torch.load of %s failed (%s): the edit is not a silent one" % (what, e))
        return
    c.check(not same(torch, a, b), "test bug: the edit of %s changed nothing torch.load sees" % what)


# ---------------------------------------------------------------------------------------
# Running a case

class Case:
    def __init__(self, row, files, env=None, folder_changes=False):
        self.row, self.files, self.env, self.folder_changes = row, files, env, folder_changes


def crc_row(program, case, args, file, record, rc=2, stdout="empty"):
    problem = "%s: CRC mismatch in record '%s'" % (file, record)
    return matrix.Row(program, case, args, problem, re.escape(problem), rc=rc, stdout=stdout)


def place(ctx, d, files):
    for name, source in files.items():
        dest = os.path.join(d, name)
        if source == "fifo":
            os.mkfifo(dest)
        elif os.path.isdir(source):
            shutil.copytree(source, dest, symlinks=True)
        else:
            shutil.copyfile(source, dest)


def run_case(c, ctx, case, index):
    row = case.row
    what = "%s [%s]" % (row.program, row.case)
    d = os.path.join(ctx.cases_dir, "%03d_%s" % (index, re.sub(r"[^A-Za-z0-9]+", "_", row.program + " " + row.case)))
    os.makedirs(d)
    place(ctx, d, case.files)
    before = sgtest.dir_snapshot(d, hashes=True)
    launcher = ["env"] + ["%s=%s" % kv for kv in case.env(d).items()] if case.env else []
    r = sgtest.run(launcher + [ctx.programs[row.program]] + row.args, timeout=TIMEOUT, cwd=d)
    ok = matrix.check_output(c, row, r, what)
    after = sgtest.dir_snapshot(d, hashes=True)
    if case.folder_changes:   # the test itself changed the input: only nothing new may appear
        new = sorted(set(after) - set(before))
        ok &= c.check(not new, "%s: new files in the folder: %s" % (what, new))
    else:
        changes = sgtest.snapshot_changes(before, after)
        ok &= c.check(not changes, "%s: files in the folder changed: %s" % (what, "; ".join(changes[:8])))
    print("%-16s %-60s exit %-4s %s" % (row.program, row.case, "T/O" if r.timed_out else r.rc, "ok" if ok else "FAIL"),
          flush=True)
    if ctx.verbose:
        print("    " + r.err.strip().replace("\n", "\n    "))


def expect_ok(c, ctx, program, args, files, what):
    """A run that must succeed (the damage is in data it does not use); returns it and its folder."""
    d = os.path.join(ctx.cases_dir, "ok_%s" % re.sub(r"[^A-Za-z0-9]+", "_", what))
    os.makedirs(d)
    place(ctx, d, files)
    r = sgtest.run([ctx.programs[program]] + args, timeout=TIMEOUT, cwd=d)
    c.check(r.rc == 0, "%s: expected exit 0: %s" % (what, r.describe()))
    return r, d


# ---------------------------------------------------------------------------------------
# The tools part: sg-ckpt-inspect and sg-ckpt-adapt on torch.save files

def tools_cases(c, ctx, torch):
    a = os.path.join(ctx.assets, "torch")
    os.makedirs(a)
    torch.manual_seed(0)
    net = collections.OrderedDict([("conv.weight", torch.randn(8, 3, 3, 3)), ("conv.bias", torch.randn(8)),
                                   ("fc.weight", torch.randn(10, 8)), ("fc.bias", torch.randn(10))])
    ema = collections.OrderedDict((k, v * 0.5) for k, v in net.items())
    good = os.path.join(a, "good.pth")
    torch.save({"net": net, "ema_net": ema, "epoch": 3, "acc": 0.5}, good)
    bad_net, bad_ema, bad_pkl = (os.path.join(a, n) for n in ("bad_net.pth", "bad_ema.pth", "bad_pkl.pth"))
    net_record = flip_tensor_byte(good, bad_net, "net/conv.weight")
    ema_record = flip_tensor_byte(good, bad_ema, "ema_net/fc.weight")
    pkl_record = flip_pickle_byte(good, bad_pkl)
    good_deflated, bad_deflated = os.path.join(a, "good_deflated.pth"), os.path.join(a, "bad_deflated.pth")
    deflated_copy(good, good_deflated)
    deflated_copy(good, bad_deflated, flip_in=net_record)
    for path, what in ((bad_net, "a flipped net byte"), (bad_ema, "a flipped ema_net byte"),
                       (bad_pkl, "a flipped data.pkl byte"), (bad_deflated, "a flipped deflated byte")):
        check_torch_ignores(c, torch, good, path, what)

    cases = []
    tensor = {"good.pth": good, "bad.pth": bad_net}
    with_ema = {"good.pth": good, "bad.pth": bad_ema}
    add = lambda row, files: cases.append(Case(row, files))  # noqa: E731
    for args in (["--hash"], ["--stats"], ["--json", "--hash"], ["--tensors", "--stats"]):
        add(crc_row("sg-ckpt-inspect", "tensor record, " + " ".join(args), args + ["bad.pth"], "bad.pth", net_record,
                    stdout="json" if "--json" in args else "empty"), tensor)
    add(crc_row("sg-ckpt-inspect", "tensor record, --diff good bad", ["--diff", "good.pth", "bad.pth"], "bad.pth",
                net_record), tensor)
    add(crc_row("sg-ckpt-inspect", "tensor record, --diff bad good", ["--diff", "bad.pth", "good.pth"], "bad.pth",
                net_record), tensor)
    adapt_kinds = [("-o out.pth", ["bad.pth", "-o", "out.pth"], tensor),
                   ("-o out.safetensors", ["bad.pth", "-o", "out.safetensors"], tensor),
                   ("--weights-only -o out.pth", ["bad.pth", "--weights-only", "-o", "out.pth"], tensor),
                   ("--weights-only -o out.safetensors", ["bad.pth", "--weights-only", "-o", "out.safetensors"], tensor),
                   ("--dtype float16", ["bad.pth", "--dtype", "float16", "-o", "out.pth"], tensor),
                   ("--dtype bfloat16 -o out.safetensors", ["bad.pth", "--dtype", "bfloat16", "-o", "out.safetensors"],
                    tensor),
                   ("--like good", ["bad.pth", "--like", "good.pth", "-o", "out.pth"], tensor),
                   ("--add-prefix x.", ["bad.pth", "--add-prefix", "x.", "-o", "out.pth"], tensor),
                   ("--average good bad", ["--average", "good.pth", "bad.pth", "-o", "out.pth"], tensor),
                   ("--average bad good -o out.safetensors", ["--average", "bad.pth", "good.pth", "-o",
                                                              "out.safetensors"], tensor)]
    for case, args, files in adapt_kinds:
        add(crc_row("sg-ckpt-adapt", "tensor record, " + case, args, "bad.pth", net_record), files)
    for case, args in (("--ema -o out.pth", ["bad.pth", "--ema", "-o", "out.pth"]),
                       ("--ema -o out.safetensors", ["bad.pth", "--ema", "-o", "out.safetensors"]),
                       ("--ema --average", ["--ema", "--average", "good.pth", "bad.pth", "-o", "out.pth"])):
        add(crc_row("sg-ckpt-adapt", "ema_net record, " + case, args, "bad.pth", ema_record), with_ema)

    pkl = {"good.pth": good, "bad.pth": bad_pkl}
    for args, stdout in (([], "empty"), (["--json"], "json"), (["--hash"], "empty"), (["--tensors"], "empty")):
        add(crc_row("sg-ckpt-inspect", "data.pkl " + " ".join(args), args + ["bad.pth"], "bad.pth", pkl_record,
                    stdout=stdout), pkl)
    add(crc_row("sg-ckpt-inspect", "data.pkl, --verify", ["--verify", "bad.pth"], "bad.pth", pkl_record, rc=1,
                stdout="verify"), pkl)
    add(crc_row("sg-ckpt-inspect", "data.pkl, --diff good bad", ["--diff", "good.pth", "bad.pth"], "bad.pth",
                pkl_record), pkl)
    for case, args in (("-o out.pth", ["bad.pth", "-o", "out.pth"]), ("-o out.safetensors", ["bad.pth", "-o",
                                                                                             "out.safetensors"]),
                       ("--ema", ["bad.pth", "--ema", "-o", "out.pth"]),
                       ("--average good bad", ["--average", "good.pth", "bad.pth", "-o", "out.pth"]),
                       ("--like bad", ["good.pth", "--like", "bad.pth", "-o", "out.pth"])):
        add(crc_row("sg-ckpt-adapt", "data.pkl, " + case, args, "bad.pth", pkl_record), pkl)

    deflated = {"good.pth": good, "bad.pth": bad_deflated}
    add(crc_row("sg-ckpt-inspect", "deflated tensor record, --hash", ["--hash", "bad.pth"], "bad.pth", net_record),
        deflated)
    add(crc_row("sg-ckpt-adapt", "deflated tensor record, -o out.pth", ["bad.pth", "-o", "out.pth"], "bad.pth",
                net_record), deflated)

    fifo_cases = [("sg-ckpt-inspect", ["fifo.pth"]), ("sg-ckpt-inspect", ["--hash", "fifo.pth"]),
                  ("sg-ckpt-inspect", ["--diff", "good.pth", "fifo.pth"]),
                  ("sg-ckpt-adapt", ["fifo.pth", "-o", "out.pth"]),
                  ("sg-ckpt-adapt", ["good.pth", "--like", "fifo.pth", "-o", "out.pth"]),
                  ("sg-ckpt-adapt", ["--average", "good.pth", "fifo.pth", "-o", "out.pth"])]
    for program, args in fifo_cases:
        add(matrix.Row(program, "FIFO, " + " ".join(args), args, "fifo.pth: not a regular file", "not a regular file"),
            {"good.pth": good, "fifo.pth": "fifo"})

    big = os.path.join(a, "big.pth")   # several MB: the half that goes holds tensor data and the directory
    torch.save({"net": collections.OrderedDict([("w%d" % i, torch.randn(256, 1024)) for i in range(8)])}, big)
    changed = "big.pth: the file changed while it was being read"
    for program, args in (("sg-ckpt-inspect", ["big.pth"]), ("sg-ckpt-inspect", ["--hash", "big.pth"]),
                          ("sg-ckpt-adapt", ["big.pth", "-o", "out.pth"])):
        cases.append(Case(matrix.Row(program, "truncated once mapped, " + " ".join(args), args, changed,
                                     re.escape(changed)),
                          {"big.pth": big}, env=truncating_env(ctx, "big.pth"), folder_changes=True))

    # Damage in data that is not used is not an error; the CRC stays visible to --verify.
    r, d = expect_ok(c, ctx, "sg-ckpt-inspect", ["bad.pth"], tensor, "describe with a damaged tensor record")
    c.check("bad.pth" in r.out, "describe with a damaged tensor record: no description: %r" % r.out[:200])
    r = sgtest.run([ctx.programs["sg-ckpt-inspect"], "--verify", "bad.pth"], timeout=TIMEOUT, cwd=d)
    c.check(r.rc == 1 and ("CRC mismatch in record '%s'" % net_record) in r.out,
            "--verify of a damaged tensor record: expected exit 1 naming the record: %s" % r.describe())
    expect_ok(c, ctx, "sg-ckpt-adapt", ["good.pth", "--like", "bad.pth", "-o", "out.pth"], tensor,
              "adapt --like a template whose tensor data is damaged (its data is not used)")
    hashes = [expect_ok(c, ctx, "sg-ckpt-inspect", ["--json", "--hash", name], {name: path}, "hash of " + name)[0].out
              for name, path in (("good.pth", good), ("good_deflated.pth", good_deflated))]
    shas = [re.findall(r'"sha256": "([0-9a-f]+)"', h) for h in hashes]
    c.check(shas[0] and shas[0] == shas[1], "the deflated copy of good.pth does not hash as good.pth: %s" % shas)
    return cases


def truncating_env(ctx, name):
    # An ASan build refuses a library preloaded before its runtime unless told it is fine.
    asan = (os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    return lambda d: {"LD_PRELOAD": ctx.preload, "SG_TEST_TRUNCATE_ON_MAP": os.path.join(d, name),
                      "ASAN_OPTIONS": asan}


# ---------------------------------------------------------------------------------------
# The training part: sg-train, sg-resume and sg-eval on checkpoints sg-train wrote

def training_cases(c, ctx, torch):
    a = os.path.join(ctx.assets, "training")
    os.makedirs(a)
    r = sgtest.run([ctx.programs["sg-train"], "--config-name", "test_tiny", "ckpt_root_dir=" + os.path.join(a, "runs"),
                    "training_hyperparams.max_epochs=1"], timeout=300)
    if r.rc != 0:
        sys.exit("FAIL: sg-train could not make the run this test needs: " + r.describe())
    run_id = os.path.basename(r.out.strip().splitlines()[-1])
    run_rel = "runs/test_tiny/" + run_id
    run_abs = os.path.join(a, run_rel)
    best, latest = os.path.join(run_abs, "ckpt_best.pth"), os.path.join(run_abs, "ckpt_latest.pth")

    resaved = os.path.join(a, "resaved.pth")   # the same checkpoint written by torch.save
    torch.save(torch.load(best), resaved)
    files = {}
    for name, src in (("ours", best), ("torch", resaved)):
        weights = os.path.join(a, name + "_weights.pth")
        files[name + "_weights"] = (weights, flip_tensor_byte(src, weights, used_weights(src)[0]))
        pkl = os.path.join(a, name + "_pkl.pth")
        files[name + "_pkl"] = (pkl, flip_pickle_byte(src, pkl))
        check_torch_ignores(c, torch, src, weights, "a flipped weights byte in " + os.path.basename(src))
        check_torch_ignores(c, torch, src, pkl, "a flipped data.pkl byte in " + os.path.basename(src))
    latest_net = os.path.join(a, "latest_net.pth")
    files["latest_net"] = (latest_net, flip_tensor_byte(latest, latest_net, "net/" + next(
        p.split("/", 1)[1] for p in record_keys(latest)[1] if p.startswith("net/"))))
    latest_pkl = os.path.join(a, "latest_pkl.pth")
    files["latest_pkl"] = (latest_pkl, flip_pickle_byte(latest, latest_pkl))

    train = ["--config-name", "test_tiny", "ckpt_root_dir=runs", "training_hyperparams.max_epochs=1"]
    resume = ["--experiment-name", "test_tiny", "--ckpt-root-dir", "runs", "--run-id", run_id]
    cases = []

    def in_run(kind):
        """The run copied, its ckpt_latest.pth replaced by an edited one."""
        path, record = files[kind]
        run = os.path.join(ctx.assets, "run_" + kind)
        if not os.path.exists(run):
            shutil.copytree(os.path.join(a, "runs"), run, symlinks=True)
            shutil.copyfile(path, os.path.join(run, "test_tiny", run_id, "ckpt_latest.pth"))
        return {"runs": run}, record

    for kind in ("ours_weights", "ours_pkl", "torch_weights", "torch_pkl"):
        path, record = files[kind]
        given = {"bad.pth": path}
        cases.append(Case(crc_row("sg-eval", "checkpoint_path, %s" % kind, ["--config-name", "test_tiny",
                                                                           "checkpoint_params.checkpoint_path=bad.pth"],
                                  "bad.pth", record), given))
        cases.append(Case(crc_row("sg-train", "checkpoint_path, %s" % kind,
                                  train + ["checkpoint_params.checkpoint_path=bad.pth"], "bad.pth", record), given))
    for kind in ("latest_net", "latest_pkl"):
        path, record = files[kind]
        latest_rel = run_rel + "/ckpt_latest.pth"
        run, _ = in_run(kind)
        cases.append(Case(crc_row("sg-train", "resume=True, ckpt_latest.pth %s" % kind, train + ["resume=True"],
                                  latest_rel, record), run))
        cases.append(Case(crc_row("sg-resume", "--run-id, ckpt_latest.pth %s" % kind, resume, latest_rel, record), run))
        cases.append(Case(crc_row("sg-train", "resume_path, %s" % kind,
                                  train + ["training_hyperparams.resume_path=bad.pth"], "bad.pth", record),
                          {"bad.pth": path}))
        cases.append(Case(crc_row("sg-eval", "run's ckpt_latest.pth, %s" % kind,
                                  ["--experiment-name", "test_tiny", "--ckpt-root-dir", "runs", "--ckpt-name",
                                   "ckpt_latest.pth"], latest_rel, record), run))
    path, record = files["ours_weights"]
    cases.append(Case(crc_row("sg-ckpt-inspect", "sg-train's checkpoint, --hash", ["--hash", "bad.pth"], "bad.pth",
                              record), {"bad.pth": path}))
    cases.append(Case(crc_row("sg-ckpt-adapt", "sg-train's checkpoint, -o out.pth", ["bad.pth", "-o", "out.pth"],
                              "bad.pth", record), {"bad.pth": path}))
    fifo = train + ["checkpoint_params.checkpoint_path=fifo.pth"]
    cases.append(Case(matrix.Row("sg-train", "FIFO, " + fifo[-1], fifo, "fifo.pth", "not a regular file"),
                      {"fifo.pth": "fifo"}))
    return cases


def main():
    args = sgtest.parse_args(__doc__, need_inspect=True, extra=lambda p: (
        p.add_argument("--adapt", required=True), p.add_argument("--preload", required=True),
        p.add_argument("--train"), p.add_argument("--resume"), p.add_argument("--eval")))
    torch = sgtest.import_torch()
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_integrity")
    ctx = matrix.Ctx()
    ctx.verbose = args.verbose
    ctx.preload = os.path.abspath(args.preload)
    ctx.programs = {"sg-ckpt-inspect": os.path.abspath(args.inspect), "sg-ckpt-adapt": os.path.abspath(args.adapt)}
    training = bool(args.train or args.resume or args.eval)
    if training:
        if not (args.train and args.resume and args.eval):
            sys.exit("FAIL: the training part needs --train, --resume and --eval")
        ctx.programs.update({"sg-train": os.path.abspath(args.train), "sg-resume": os.path.abspath(args.resume),
                             "sg-eval": os.path.abspath(args.eval)})
    ctx.assets = os.path.join(args.workdir, "assets")
    ctx.cases_dir = os.path.join(args.workdir, "cases")
    os.makedirs(ctx.assets)
    os.makedirs(ctx.cases_dir)

    cases = training_cases(c, ctx, torch) if training else tools_cases(c, ctx, torch)
    print("%-16s %-60s %-9s %s" % ("program", "case", "exit", "ok"))
    for i, case in enumerate(cases):
        run_case(c, ctx, case, i)
    print("%d cases (%s part)" % (len(cases), "training" if training else "tools"))
    c.report()


if __name__ == "__main__":
    sys.exit(main())
