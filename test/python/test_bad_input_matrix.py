"""Bad input for every program: exit 2, one line naming the file and the problem, nothing touched.

The matrix is the table in rows(): (program, case, arguments, what the message must name,
the problem as a regex). Every row runs in a folder of its own, filled by the row's setup:
hostile checkpoints made at test time from real torch.save output (truncated, a pickle
whose __reduce__ would run os.system, ...), a copy of a real run made by sg-train, recipe
folders, IDX files, read-only folders. Each row runs with a timeout and must:
  - exit 2 exactly; the one exception is `sg-ckpt-inspect --verify` on a malformed file,
    which the README documents as a failed verification (exit 1), not an input error,
  - print exactly one non-empty line on stderr, `<program>: error: ...`, containing the
    file (or flag or key) as it was given and matching the row's problem,
  - print nothing on stdout (sg-ckpt-inspect --json: a document that describes no file;
    --verify: only its FAILED report for that file),
  - leave everything under its folder as it was (each file's SHA-256, size, mtime and mode;
    each folder's mode) and add nothing (no run directory, no partial output, no temp
    file), and run nothing (the pickle's marker file never appears; a control copy of the
    payload is loaded by real torch.load first to prove that it would run).

Unreadable files and read-only folders: permission bits stop nothing for root, and CI runs
these tests as root. As root, those rows run the program as nobody (setpriv --reuid=65534
--regid=65534 --clear-groups), after checking once that nobody can run the programs and
reach the row folders; when it cannot, those rows are skipped with a printed note (never
silently). As any other user, chmod alone makes them.
"""

import collections
import gzip
import json
import os
import re
import shutil
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

TIMEOUT = 60
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PROGRAMS = ["sg-ckpt-inspect", "sg-ckpt-adapt", "sg-train", "sg-resume", "sg-eval"]


class Row:
    def __init__(self, program, case, args, names, problem, setup=(), rc=2, unprivileged=False, stdout="empty"):
        self.program, self.case, self.args, self.names, self.problem = program, case, args, names, problem
        self.setup, self.rc, self.unprivileged, self.stdout = list(setup), rc, unprivileged, stdout


# ---------------------------------------------------------------------------------------
# Inputs, made once under <workdir>/assets and copied into the rows' folders

class Payload:
    """Pickles as os.system(command): what a malicious checkpoint does to torch.load."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def make_assets(torch, args, assets, marker):
    os.makedirs(assets)
    torch.manual_seed(0)
    net = collections.OrderedDict([("conv.weight", torch.randn(8, 3, 3, 3)), ("conv.bias", torch.randn(8)),
                                   ("fc.weight", torch.randn(10, 8)), ("fc.bias", torch.zeros(10))])
    torch.save({"net": net, "epoch": 3, "acc": 0.5}, os.path.join(assets, "good.pth"))
    data = open(os.path.join(assets, "good.pth"), "rb").read()
    with open(os.path.join(assets, "truncated.pth"), "wb") as f:
        f.write(data[:len(data) // 2])
    torch.save({"net": Payload("touch " + marker), "epoch": 1}, os.path.join(assets, "pickle.pth"))
    control_marker = marker + ".control"
    torch.save({"net": Payload("touch " + control_marker)}, os.path.join(assets, "control.pth"))
    torch.load(os.path.join(assets, "control.pth"))   # real torch runs the payload: the row files are real threats
    if not os.path.exists(control_marker):
        sys.exit("FAIL: test bug: torch.load of the control payload did not create %s" % control_marker)
    os.remove(control_marker)
    os.remove(os.path.join(assets, "control.pth"))
    with open(os.path.join(assets, "random.pth"), "wb") as f:
        f.write(bytes((i * 7919 + 13) % 251 for i in range(4096)))   # neither a zip nor a pickle
    with zipfile.ZipFile(os.path.join(assets, "plain.zip"), "w") as z:
        z.writestr("notes/readme.txt", "a zip archive, not a checkpoint")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    with open(os.path.join(assets, "bad.safetensors"), "wb") as f:   # header length past the end of the file
        f.write(struct.pack("<Q", len(header) + 1000) + header + bytes(8))
    # Gzipped IDX files whose images stop early (a header that promises more than is there).
    idx = os.path.join(assets, "idx_truncated")
    os.makedirs(idx)
    for prefix, n in (("train", 64), ("t10k", 32)):
        with gzip.open(os.path.join(idx, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(28 * 28 * 5))
        with gzip.open(os.path.join(idx, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + bytes(n))
    # A real run of the tests' tiny recipe, copied into the sg-resume and sg-eval rows.
    r = sgtest.run([args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + os.path.join(assets, "runs"),
                    "training_hyperparams.max_epochs=1"], timeout=300)
    if r.rc != 0:
        sys.exit("FAIL: sg-train could not make the run the matrix needs: " + r.describe())
    return os.path.basename(r.out.strip().splitlines()[-1])


# Hostile checkpoint kinds: how each is placed at a path, the problem the message must name,
# and whether --verify counts it as a malformed file (exit 1) rather than an unreadable one.
Kind = collections.namedtuple("Kind", "name place problem malformed")


def _copy(asset):
    return lambda ctx, dest: shutil.copyfile(os.path.join(ctx.assets, asset), dest)


def _unreadable(ctx, dest):
    shutil.copyfile(os.path.join(ctx.assets, "good.pth"), dest)
    os.chmod(dest, 0)


KINDS = [
    Kind("missing", lambda ctx, dest: None, r"No such file or directory|no file|no such checkpoint file", False),
    Kind("directory", lambda ctx, dest: os.mkdir(dest), r"[Ii]s a directory|no file", False),
    Kind("empty", lambda ctx, dest: open(dest, "wb").close(), r"empty file", True),
    Kind("truncated", _copy("truncated.pth"), r"truncated", True),
    Kind("code pickle", _copy("pickle.pth"), r"refused global 'posix\.system'", True),
    Kind("random bytes", _copy("random.pth"), r"not a PyTorch checkpoint", True),
    Kind("plain zip", _copy("plain.zip"), r"missing version record|not a PyTorch checkpoint|data\.pkl", True),
    Kind("unreadable", _unreadable, r"Permission denied", False),
]
KIND = {k.name: k for k in KINDS}


def hostile_name(kind):
    return "hostile_" + kind.name.replace(" ", "_") + ".pth"


# Setup steps: each is f(ctx, row_dir).
def place(kind, rel=None):
    return lambda ctx, d: kind.place(ctx, os.path.join(d, rel or hostile_name(kind)))


def copy_asset(asset, rel):
    def step(ctx, d):
        src, dest = os.path.join(ctx.assets, asset), os.path.join(d, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        (shutil.copytree if os.path.isdir(src) else shutil.copyfile)(src, dest)
    return step


def copy_run(ctx, d):
    shutil.copytree(os.path.join(ctx.assets, "runs"), os.path.join(d, "runs"), symlinks=True)


def in_run(rel, kind=None, text=None, remove=False):
    """Replaces (or removes) a file of the copied run: with a hostile kind or with text."""
    def step(ctx, d):
        path = os.path.join(d, ctx.run_rel, rel)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        if kind:
            kind.place(ctx, path)
        elif text is not None:
            with open(path, "w") as f:
                f.write(text)
    return step


def mkdir(rel, mode=0o755):
    def step(ctx, d):
        os.makedirs(os.path.join(d, rel), exist_ok=True)
        os.chmod(os.path.join(d, rel), mode)
    return step


def write(rel, text):
    def step(ctx, d):
        os.makedirs(os.path.dirname(os.path.join(d, rel)) or d, exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    return step


def chmod(rel, mode):
    return lambda ctx, d: os.chmod(os.path.join(d, rel), mode)


# ---------------------------------------------------------------------------------------
# The matrix

class Ctx:
    pass


def rows(ctx):
    run, latest = ctx.run_rel, ctx.run_rel + "/ckpt_latest.pth"
    out = []
    add = lambda *a, **kw: out.append(Row(*a, **kw))  # noqa: E731
    good = copy_asset("good.pth", "good.pth")
    train = ["--config-name", "test_tiny", "ckpt_root_dir=runs", "training_hyperparams.max_epochs=1"]
    resume = ["--experiment-name", "test_tiny", "--ckpt-root-dir", "runs", "--run-id", ctx.run_id]
    model = copy_asset(os.path.join(ctx.run_rel, "ckpt_best.pth"), "model.pth")   # fits test_tiny's model
    recipe_eval = ["--config-name", "test_tiny", "checkpoint_params.checkpoint_path=model.pth"]
    run_eval = ["--experiment-name", "test_tiny", "--ckpt-root-dir", "runs"]

    # Hostile checkpoints wherever a program reads one.
    for k in KINDS:
        f, priv = hostile_name(k), k.name == "unreadable"
        add("sg-ckpt-inspect", k.name, [f], f, k.problem, [place(k)], unprivileged=priv)
        add("sg-ckpt-inspect", "--json, " + k.name, ["--json", f], f, k.problem, [place(k)], unprivileged=priv,
            stdout="json")
        # README: under --verify a malformed file is a failed verification (exit 1); a file
        # that cannot be opened at all is still an input error (exit 2).
        add("sg-ckpt-inspect", "--verify, " + k.name, ["--verify", f], f, k.problem, [place(k)],
            rc=1 if k.malformed else 2, unprivileged=priv, stdout="verify")
        add("sg-ckpt-inspect", "--diff good B, " + k.name, ["--diff", "good.pth", f], f, k.problem, [good, place(k)],
            unprivileged=priv)
        add("sg-ckpt-adapt", "IN " + k.name, [f, "-o", "out.pth"], f, k.problem, [place(k)], unprivileged=priv)
        add("sg-ckpt-adapt", "--like " + k.name, ["good.pth", "--like", f, "-o", "out.pth"], f, k.problem,
            [good, place(k)], unprivileged=priv)
        add("sg-train", "checkpoint_path " + k.name, train + ["checkpoint_params.checkpoint_path=" + f], f, k.problem,
            [place(k)], unprivileged=priv)
        # sg-resume --run-id: a run whose ckpt_latest.pth is hostile; every run file stays as it was.
        missing = k.name in ("missing", "directory")
        add("sg-resume", "ckpt_latest.pth " + k.name, resume, "ckpt_latest.pth" if missing else latest,
            r"has no ckpt_latest\.pth" if missing else k.problem, [copy_run, in_run("ckpt_latest.pth", k)],
            unprivileged=priv)
        add("sg-eval", "checkpoint_path " + k.name, ["--config-name", "test_tiny",
                                                     "checkpoint_params.checkpoint_path=" + f], f, k.problem,
            [place(k)], unprivileged=priv)
    for name in ("truncated", "code pickle", "missing"):
        k = KIND[name]
        add("sg-ckpt-adapt", "--average good " + k.name, ["--average", "good.pth", hostile_name(k), "-o", "out.pth"],
            hostile_name(k), k.problem, [good, place(k)])
        add("sg-train", "resume_path " + k.name, train + ["training_hyperparams.resume_path=" + hostile_name(k)],
            hostile_name(k), k.problem, [place(k)])
    for name in ("truncated", "code pickle", "empty"):
        k = KIND[name]
        add("sg-eval", "run's ckpt_latest.pth " + k.name, run_eval, latest, k.problem,
            [copy_run, in_run("ckpt_latest.pth", k)])
        add("sg-resume", "averaging snapshot " + k.name, resume, run + "/" + ctx.snapshot_rel, k.problem,
            [copy_run, in_run(ctx.snapshot_rel, k)])
    add("sg-train", "resume=True, ckpt_latest.pth truncated", train + ["resume=True"], latest, r"truncated",
        [copy_run, in_run("ckpt_latest.pth", KIND["truncated"])])
    add("sg-ckpt-adapt", "IN malformed safetensors", ["bad.safetensors", "-o", "out.pth"], "bad.safetensors",
        r"header length", [copy_asset("bad.safetensors", "bad.safetensors")])

    # Outputs sg-ckpt-adapt must not write.
    add("sg-ckpt-adapt", "OUT in a missing folder", ["good.pth", "-o", "nodir/out.pth"], "nodir/out.pth",
        r"No such file or directory", [good])
    add("sg-ckpt-adapt", "OUT under a regular file", ["good.pth", "-o", "afile/out.pth"], "afile/out.pth",
        r"Not a directory", [good, write("afile", "x")])
    add("sg-ckpt-adapt", "OUT in a read-only folder", ["good.pth", "-o", "ro/out.pth"], "ro/out.pth",
        r"Permission denied", [good, mkdir("ro", 0o555)], unprivileged=True)
    add("sg-ckpt-adapt", "OUT exists, no --force", ["good.pth", "-o", "existing.pth"], "existing.pth",
        r"refusing to overwrite", [good, copy_asset("good.pth", "existing.pth")])
    add("sg-ckpt-adapt", "OUT is IN, no --force", ["good.pth", "-o", "good.pth", "--dtype", "float16"], "good.pth",
        r"refusing to overwrite", [good])
    # Outputs sg-train and sg-resume must not write: a folder given up front is bad input.
    add("sg-train", "ckpt_root_dir is a regular file", ["--config-name", "test_tiny", "ckpt_root_dir=afile"], "afile",
        r"Not a directory", [write("afile", "x")])
    add("sg-train", "ckpt_root_dir read-only", ["--config-name", "test_tiny", "ckpt_root_dir=ro"], "ro/test_tiny",
        r"Permission denied", [mkdir("ro", 0o555)], unprivileged=True)
    add("sg-train", "experiment folder read-only", ["--config-name", "test_tiny", "ckpt_root_dir=ro"], "ro/test_tiny",
        r"Permission denied", [mkdir("ro/test_tiny", 0o555)], unprivileged=True)
    add("sg-resume", "run directory read-only", resume, run, r"Permission denied",
        [copy_run, chmod(run, 0o555), chmod(run + "/.hydra", 0o555)], unprivileged=True)

    # Command lines.
    flag_rows = {"sg-ckpt-inspect": ["good.pth"], "sg-ckpt-adapt": ["good.pth", "-o", "out.pth"], "sg-train": [],
                 "sg-resume": ["--experiment-name", "test_tiny"], "sg-eval": []}
    for program, argv in flag_rows.items():
        add(program, "unknown flag", argv + ["--bogus"], "--bogus", r"not expected", [good])
    add("sg-ckpt-inspect", "--diff with one file", ["--diff", "good.pth"], "--diff", r"two files", [good])
    add("sg-ckpt-adapt", "no -o", ["good.pth"], "--output", r"required", [good])
    add("sg-ckpt-adapt", "--dtype int8", ["good.pth", "--dtype", "int8", "-o", "out.pth"], "--dtype", r"int8", [good])
    add("sg-ckpt-adapt", "--rename bad regex", ["good.pth", "--rename", "(=x", "-o", "out.pth"], "--rename",
        r"not a valid regular expression", [good])
    add("sg-ckpt-adapt", "--rename without =", ["good.pth", "--rename", "conv", "-o", "out.pth"], "--rename",
        r"REGEX=REPLACEMENT", [good])
    add("sg-ckpt-adapt", "--drop bad regex", ["good.pth", "--drop", "[", "-o", "out.pth"], "--drop",
        r"not a valid regular expression", [good])
    add("sg-resume", "no --experiment-name", ["--ckpt-root-dir", "runs"], "--experiment-name", r"required", [copy_run])
    add("sg-eval", "--max-batches 0", recipe_eval + ["--max-batches", "0"], "--max-batches", r"positive", [model])
    add("sg-eval", "neither experiment nor recipe", [], "--experiment-name", r"--config-name")

    # Recipes, overrides and data, for sg-train and sg-eval alike.
    broken = write("recipes/broken.yaml", "defaults:\n  - training_hyperparams: default_train_params\n  x: [1, 2\n")
    for program, base, setup, split in (("sg-train", train, [], "train"), ("sg-eval", recipe_eval, [model], "t10k")):
        data = ["dataset_params=fashion_mnist_dataset_params", "dataset_params.root=data"]
        images = "data/%s-images-idx3-ubyte.gz" % split
        cases = [
            ("recipe YAML syntax error", ["--config-dir", "recipes", "--config-name", "broken"] + base[2:],
             "recipes/broken.yaml", r"line \d+", [broken]),
            ("unknown recipe", ["--config-name", "no_such_recipe"] + base[2:], "no_such_recipe", r"not found", []),
            ("override without =", base + ["training_hyperparams.max_epochs"], "training_hyperparams.max_epochs",
             r"not of the form key=value", []),
            ("override with an empty key", base + ["=3"], "'=3'", r"empty key", []),
            ("override value unparsable", base + ["training_hyperparams.max_epochs=[1,"], "[1,",
             r"cannot parse value", []),
            ("override of an unknown key", base + ["training_hyperparams.max_epoch=3"],
             "training_hyperparams.max_epoch", r"unknown key", []),
            ("override of the wrong type", base + ["training_hyperparams.max_epochs=abc"],
             "training_hyperparams.max_epochs", r"expected an integer", []),
            ("unknown architecture", base + ["architecture=resnet1000"], "resnet1000", r"unknown|not", []),
            ("arch_params the architecture does not read", base + ["+arch_params.width_mult=2"],
             "arch_params.width_mult", r"not a parameter of architecture 'resnet_mini'", []),
            ("arch_params out of range", base + ["arch_params.droppath_prob=2"], "arch_params.droppath_prob",
             r"outside \[0, 1\]", []),
            ("a +key nothing reads", base + ["+training_hyperparams.bogus=True"], "training_hyperparams.bogus",
             r"nothing here reads this key", []),
            ("a key at the wrong level", base + ["mixed_precision=True"], "mixed_precision",
             r"unknown key 'mixed_precision' \(did you mean 'training_hyperparams.mixed_precision'\?\)", []),
            ("a top-level +key nothing reads", base + ["+mixed_precision=True"], "mixed_precision",
             r"nothing here reads this key.*did you mean 'training_hyperparams.mixed_precision'", []),
            ("a key nothing acts on", base + ["training_hyperparams.lr_schedule_function=foo"],
             "training_hyperparams.lr_schedule_function", r"nothing here reads this key", []),
            ("SG's dataset keys beside the built-in form's dataset",
             base + ["+dataset_params.train_dataset_params.transforms=[ToTensor]"],
             "dataset_params.train_dataset_params.transforms", r"nothing here reads this key", []),
            ("data folder empty", base + data, images, r"No such file or directory", [mkdir("data")]),
            ("data file truncated", base + data, images, r"truncated", [copy_asset("idx_truncated", "data")]),
            ("data file unreadable", base + data, images, r"Permission denied",
             [copy_asset("idx_truncated", "data"), chmod(images, 0)]),
        ]
        for case, argv, names, problem, steps in cases:
            add(program, case, argv, names, problem, setup + steps, unprivileged=case == "data file unreadable")

    # Runs: unknown names, stored recipes, overrides on a stored recipe.
    for program, base in (("sg-resume", resume[:4]), ("sg-eval", run_eval)):
        add(program, "unknown experiment", ["--experiment-name", "no_such_exp"] + base[2:], "no_such_exp",
            r"no run|unknown experiment", [copy_run])
        add(program, "unknown run id", base + ["--run-id", "RUN_19990101_000000_000000"],
            "RUN_19990101_000000_000000", r"not found|unknown run", [copy_run])
        add(program, "stored recipe missing", base, run, r"no stored recipe", [copy_run, in_run(".hydra/config.yaml")])
        add(program, "stored recipe YAML syntax error", base, run + "/.hydra/config.yaml", r"line \d+",
            [copy_run, in_run(".hydra/config.yaml", text="training_hyperparams: [1, 2\n")])
        add(program, "stored recipe not a mapping", base, run + "/.hydra/config.yaml", r"mapping",
            [copy_run, in_run(".hydra/config.yaml", text="- 1\n- 2\n")])
        add(program, "override of an unknown key", base + ["training_hyperparams.max_epoch=3"],
            "training_hyperparams.max_epoch", r"unknown key", [copy_run])
    add("sg-eval", "unknown checkpoint name", run_eval + ["--ckpt-name", "ckpt_epoch_7.pth"], "ckpt_epoch_7.pth",
        r"no run", [copy_run])
    add("sg-resume", "override of the wrong type", resume + ["training_hyperparams.max_epochs=abc"],
        "training_hyperparams.max_epochs", r"expected an integer", [copy_run])

    order = {p: i for i, p in enumerate(PROGRAMS)}
    return sorted(out, key=lambda r: order[r.program])


# ---------------------------------------------------------------------------------------
# Running a row

def make_writable(root):
    for top, dirs, files in os.walk(root):
        for n in dirs:
            os.chmod(os.path.join(top, n), 0o755)
        for n in files:
            if not os.path.islink(os.path.join(top, n)):
                os.chmod(os.path.join(top, n), 0o644)


def check_output(c, row, r, what):
    if not c.check(r.rc == row.rc and not r.timed_out, "%s: expected exit %d: %s" % (what, row.rc, r.describe())):
        return False
    ok = True
    lines = r.err.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    line = lines[0] if len(lines) == 1 else ""
    ok &= c.check(len(lines) == 1 and line.strip(), "%s: stderr is not exactly one line: %r" % (what, r.err))
    ok &= c.check(line.startswith(row.program + ": error: "), "%s: stderr does not start with '%s: error: ': %r"
                  % (what, row.program, line))
    ok &= c.check(row.names in line, "%s: the message does not name %r: %r" % (what, row.names, line))
    ok &= c.check(re.search(row.problem, line), "%s: the message does not say /%s/: %r" % (what, row.problem, line))
    if row.stdout == "json":
        try:
            doc = json.loads(r.out)
        except ValueError:
            doc = None
        ok &= c.check(doc == {"schema_version": 1, "files": []}, "%s: --json stdout should describe no file: %r"
                      % (what, r.out))
    elif row.stdout == "verify" and row.rc == 1:
        file = row.args[-1]
        ok &= c.check(r.out.startswith(file + ": verify: FAILED\n") and r.out.count(": verify:") == 1,
                      "%s: --verify stdout should be the FAILED report of %s: %r" % (what, file, r.out))
    else:
        ok &= c.check(r.out == "", "%s: printed on stdout: %r" % (what, r.out))
    return ok


def run_row(c, ctx, row, index):
    what = "%s [%s]" % (row.program, row.case)
    d = os.path.join(ctx.rows_dir, "%03d_%s_%s" % (index, row.program, re.sub(r"[^A-Za-z0-9]+", "_", row.case)))
    os.makedirs(d)
    os.chmod(d, 0o755)
    for step in row.setup:
        step(ctx, d)
    prefix = []
    if row.unprivileged and ctx.root:
        if ctx.nobody_problem:
            print("%-16s %-44s SKIP  (%s)" % (row.program, row.case, ctx.nobody_problem))
            return "skip"
        prefix = NOBODY
    before = sgtest.dir_snapshot(d, hashes=True)
    r = sgtest.run(prefix + [ctx.programs[row.program]] + row.args, timeout=TIMEOUT, cwd=d)
    ok = check_output(c, row, r, what)
    changes = sgtest.snapshot_changes(before, sgtest.dir_snapshot(d, hashes=True))
    ok &= c.check(not changes, "%s: files under the row's folder changed: %s" % (what, "; ".join(changes[:8])))
    ok &= c.check(not os.path.exists(ctx.marker), "%s: the pickle's payload ran (%s exists)" % (what, ctx.marker))
    print("%-16s %-44s exit %-4s %-4s %5.2fs%s" % (row.program, row.case, "T/O" if r.timed_out else r.rc,
                                                  "ok" if ok else "FAIL", r.seconds, " (as nobody)" if prefix else ""),
          flush=True)
    if ctx.verbose:
        print("    " + r.err.strip().replace("\n", "\n    "))
    make_writable(d)
    return "ok" if ok else "fail"


def nobody_problem(ctx):
    """None when nobody can run every program and read the row folders, else why not."""
    if not shutil.which("setpriv"):
        return "no setpriv to drop root"
    probe = os.path.join(ctx.rows_dir, "probe")
    with open(probe, "w") as f:
        f.write("x")
    os.chmod(probe, 0o644)
    cmd = " && ".join(["test -x '%s'" % p for p in ctx.programs.values()] + ["test -r '%s'" % probe])
    r = sgtest.run(NOBODY + ["sh", "-c", cmd], timeout=30)
    os.remove(probe)
    return None if r.rc == 0 else "nobody cannot run the programs or read %s" % ctx.rows_dir


def main():
    args = sgtest.parse_args(__doc__, need_inspect=True, paths=("adapt", "train", "resume", "eval"))
    torch = sgtest.import_torch()
    os.umask(0o022)   # the rows' files must be readable by nobody (see the docstring)
    sgtest.fresh_dir(args.workdir)
    os.chmod(args.workdir, 0o755)
    c = sgtest.Checker("test_bad_input_matrix")
    ctx = Ctx()
    ctx.verbose = args.verbose
    ctx.programs = {"sg-ckpt-inspect": os.path.abspath(args.inspect), "sg-ckpt-adapt": os.path.abspath(args.adapt),
                    "sg-train": os.path.abspath(args.train), "sg-resume": os.path.abspath(args.resume),
                    "sg-eval": os.path.abspath(args.eval)}
    ctx.assets = os.path.join(args.workdir, "assets")
    ctx.marker = os.path.join(args.workdir, "PAYLOAD_RAN")
    ctx.run_id = make_assets(torch, args, ctx.assets, ctx.marker)
    ctx.run_rel = "runs/test_tiny/" + ctx.run_id
    run_abs = os.path.join(ctx.assets, ctx.run_rel)
    ctx.snapshot_rel = "averaging/" + sorted(os.listdir(os.path.join(run_abs, "averaging")))[0]   # a kept snapshot
    ctx.rows_dir = os.path.join(args.workdir, "rows")
    os.makedirs(ctx.rows_dir, mode=0o755)
    ctx.root = os.geteuid() == 0
    ctx.nobody_problem = nobody_problem(ctx) if ctx.root else None
    if ctx.root:
        print("running as root: unreadable-file and read-only-folder rows run as nobody (setpriv)"
              if not ctx.nobody_problem else "running as root and %s: those rows are skipped" % ctx.nobody_problem)

    table = rows(ctx)
    print("%-16s %-44s %-9s %-4s %s" % ("program", "case", "exit", "ok", "time"))
    results = collections.Counter()
    per_program = collections.Counter()
    for i, row in enumerate(table):
        results[run_row(c, ctx, row, i)] += 1
        per_program[row.program] += 1
    print("rows: %s; %s" % (", ".join("%s %d" % (p, per_program[p]) for p in PROGRAMS),
                            ", ".join("%s %d" % kv for kv in sorted(results.items()))))
    c.check(not os.path.exists(ctx.marker), "the pickle's payload ran")
    c.report()


if __name__ == "__main__":
    sys.exit(main())
