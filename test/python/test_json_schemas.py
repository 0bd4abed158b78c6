"""The --json output of sg-ckpt-inspect and sg-ckpt-adapt against tools/schemas/, on files torch.save writes here.

  - every sg-ckpt-inspect mode (listing, --hash, --stats, --verify, all of them, several files,
    --diff identical and different) and sg-ckpt-adapt's report (written, and a failed match,
    exit 1) validate against their schema, with "schema_version": 1 as the first field;
  - non-finite floats are "NaN", "Infinity", "-Infinity" (scalars, param_groups, --diff's
    max_abs_diff); --stats of a tensor without a finite element (all NaN, only +-inf, empty)
    has null min/max/mean in JSON and n/a in text;
  - an SGD optimizer's param_groups (momentum, nesterov, two groups) equal
    optimizer.state_dict()['param_groups'], under optimizer_state_dict and as a saved root;
  - --verify --json of good, missing, truncated and directory files: one entry per file in
    order, each bad one with its one-line error; exit 2 with an unreadable file, 1 with only a
    malformed one;
  - the schemas refuse wrong documents (no schema_version, "nan", null metrics, unknown
    fields, an unreadable entry without its error) and sgtest's check of every run raises.
"""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402
import sgtest  # noqa: E402

torch = sgtest.import_torch()
INSPECT, ADAPT, EVAL = "sg-ckpt-inspect", "sg-ckpt-adapt", "sg-eval"
NAN, INF = float("nan"), float("inf")


def make_files(d):
    """The fixtures; returns Python's param_groups of the optimizer they hold."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    opt = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}],
                          lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 4)).square().sum().backward()
        opt.step()
    opt.param_groups[1]["weight_decay"] = NAN   # a non-finite value in param_groups
    opt_state = opt.state_dict()
    assert all("momentum_buffer" in s for s in opt_state["state"].values()), "test bug: no momentum buffers"
    ckpt = {"net": model.state_dict(), "epoch": 3, "acc": NAN,
            "metrics": {"loss": INF, "low": -INF, "top1": 0.5}, "optimizer_state_dict": opt_state}
    torch.save(ckpt, os.path.join(d, "sgd.pth"))
    torch.save(opt_state, os.path.join(d, "optimizer.pth"))
    changed = copy.deepcopy(ckpt)
    changed["acc"] = 0.25
    changed["net"]["0.bias"][0] = NAN   # NaN against a number: an infinite difference
    torch.save(changed, os.path.join(d, "sgd_changed.pth"))
    torch.save({"all_nan": torch.full((3,), NAN), "infs": torch.tensor([INF, -INF], dtype=torch.float64),
                "empty": torch.zeros(0, dtype=torch.float16), "mixed": torch.tensor([1.0, NAN, INF, -2.0]),
                "ints": torch.arange(3)}, os.path.join(d, "specials.pth"))
    with open(os.path.join(d, "sgd.pth"), "rb") as f:
        whole = f.read()
    with open(os.path.join(d, "truncated.pth"), "wb") as f:
        f.write(whole[:len(whole) // 2])
    os.mkdir(os.path.join(d, "folder.pth"))
    torch.save({"other.weight": torch.zeros(2)}, os.path.join(d, "template.pth"))
    return opt_state["param_groups"]


def run_doc(c, cmd, what, expect_rc, cwd):
    """Runs one of our programs with --json (sgtest.run validates its output against the schema
    and raises when it does not match); the document, its first field checked."""
    r = sgtest.run(cmd, cwd=cwd)
    if not c.check(r.rc == expect_rc, "%s: expected exit %d: %s" % (what, expect_rc, r.describe())):
        return None, r
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        c.fail("%s: stdout is not one JSON document (%s): %s" % (what, e, sgtest.short(r.out, 300)))
        return None, r
    program = os.path.basename(cmd[0])
    c.eq(sgtest.schema_problems(program, doc), [], what + ": schema problems")
    first = json.loads(r.out, object_pairs_hook=lambda pairs: [k for k, _ in pairs])[:1]
    c.eq(first, ["schema_version"], what + ": first field")
    c.eq(doc.get("schema_version"), 1, what + ": schema_version")
    return doc, r


def check_inspect_modes(c, inspect, d, param_groups):
    files = ["sgd.pth", "optimizer.pth", "specials.pth"]
    docs = {}
    for mode in ([], ["--hash"], ["--stats"], ["--verify"], ["--hash", "--stats", "--verify"]):
        what = "--json %s %s" % (" ".join(mode), " ".join(files))
        doc, _ = run_doc(c, [inspect, "--json"] + mode + files, what, 0, d)
        if doc is not None:
            c.eq([f["path"] for f in doc["files"]], files, what + ": files in order")
            docs[tuple(mode)] = {f["path"]: f for f in doc["files"]}
    listing = docs.get(())
    if listing:
        sgd = listing["sgd.pth"]
        c.eq(sgd["scalars"]["acc"], "NaN", "scalar acc (NaN)")
        c.eq(sgd["scalars"]["metrics"], {"loss": "Infinity", "low": "-Infinity", "top1": 0.5}, "scalar metrics (+-inf)")
        want = make_fixtures.render(param_groups)
        c.eq(want[1]["weight_decay"], "NaN", "test bug: param group 1's weight_decay is not NaN")
        c.eq(sgd["optimizers"], [{"path": "optimizer_state_dict", "param_groups": want}],
             "sgd.pth optimizers: optimizer.state_dict()['param_groups']")
        c.eq(listing["optimizer.pth"]["optimizers"], [{"path": "", "param_groups": want}],
             "optimizer.pth (a saved optimizer state dict) optimizers")
        c.eq(listing["specials.pth"]["optimizers"], [], "specials.pth has no optimizer")
    stats = docs.get(("--stats",))
    if stats:
        got = {t["path"]: t.get("stats") for t in stats["specials.pth"]["tensors"]}
        none = {"min": None, "max": None, "mean": None}
        c.eq(got, {"all_nan": dict(count=3, nan=3, inf=0, **none), "infs": dict(count=2, nan=0, inf=2, **none),
                   "empty": dict(count=0, nan=0, inf=0, **none),
                   "mixed": {"count": 4, "nan": 1, "inf": 1, "min": -2.0, "max": 1.0, "mean": -0.5}, "ints": None},
             "--stats of specials.pth (null without a finite element; none for an integer tensor)")
    r = sgtest.run([inspect, "--stats", "specials.pth"], cwd=d)
    lines = {ln.split()[0]: ln for ln in r.out.splitlines() if ln.startswith("    ")}
    for name, tail in (("all_nan", "min n/a max n/a mean n/a nan 3 inf 0"), ("infs", "min n/a max n/a mean n/a nan 0 inf 2"),
                       ("empty", "min n/a max n/a mean n/a nan 0 inf 0"), ("mixed", "min -2 max 1 mean -0.5 nan 1 inf 1")):
        c.check(lines.get(name, "").endswith(tail), "--stats (text) %s: expected '... %s': %r" % (name, tail, lines.get(name)))
    r = sgtest.run([inspect, "sgd.pth"], cwd=d)
    for i, lr in ((0, "0.1"), (1, "0.01")):
        line = [ln for ln in r.out.splitlines() if ln.strip().startswith("optimizer_state_dict/param_groups/%d " % i)]
        c.check(len(line) == 1 and ("lr %s," % lr) in line[0] and "momentum 0.9" in line[0] and "nesterov true" in line[0]
                and "params 2" in line[0], "text listing: param group %d not shown as expected: %s" % (i, sgtest.short(r.out, 800)))


def check_verify(c, inspect, d):
    files = ["sgd.pth", "missing.pth", "truncated.pth", "folder.pth"]
    doc, r = run_doc(c, [inspect, "--verify", "--json"] + files, "--verify --json " + " ".join(files), 2, d)
    if doc is not None:
        entries = doc["files"]
        c.eq([f["path"] for f in entries], files, "--verify --json: every file in order, the bad ones too")
        if len(entries) == len(files):
            c.eq(entries[0]["verify"], {"ok": True, "problems": []}, "--verify --json: sgd.pth")
            for entry, why in zip(entries[1:], ("No such file or directory", "truncated", "directory")):
                what = "--verify --json: %s" % entry["path"]
                error = entry.get("error", "")
                c.check(why in error and "\n" not in error, "%s: error %r should say %r on one line" % (what, error, why))
                c.eq(entry.get("verify"), {"ok": False, "problems": [error]}, what + ": verify")
                c.eq(sorted(entry), ["error", "path", "verify"], what + ": fields")
    errors = r.err.splitlines()
    c.check(len(errors) == 3 and all(ln.startswith("sg-ckpt-inspect: error: " + f + ": ") for ln, f in zip(errors, files[1:])),
            "--verify --json: one error line per bad file on stderr: %r" % r.err)
    doc, r = run_doc(c, [inspect, "--verify", "--json", "sgd.pth", "truncated.pth"], "--verify --json sgd truncated", 1, d)
    if doc is not None:
        c.eq([f.get("verify", {}).get("ok") for f in doc["files"]], [True, False], "--verify --json sgd truncated: ok")
    # Without --verify an unreadable file is an input error that describes nothing.
    doc, _ = run_doc(c, [inspect, "--json", "sgd.pth", "missing.pth"], "--json sgd missing", 2, d)
    if doc is not None:
        c.eq([f["path"] for f in doc["files"]], ["sgd.pth"], "--json sgd missing: only sgd.pth described")


def check_diff(c, inspect, d):
    doc, _ = run_doc(c, [inspect, "--diff", "sgd.pth", "sgd.pth", "--json"], "--diff sgd sgd --json", 0, d)
    if doc is not None:
        c.eq(doc["diff"]["identical"], True, "--diff sgd sgd: identical")
    doc, _ = run_doc(c, [inspect, "--diff", "sgd.pth", "sgd_changed.pth", "--json"], "--diff sgd changed --json", 1, d)
    if doc is not None:
        c.eq(doc["diff"]["value_changed"], [{"path": "net/0.bias", "max_abs_diff": "Infinity"}],
             "--diff: NaN against a number")
        c.eq(doc["diff"]["scalars_changed"], [{"path": "acc", "a": "NaN", "b": 0.25}], "--diff: acc NaN -> 0.25")


def check_adapt(c, adapt, d):
    doc, _ = run_doc(c, [adapt, "sgd.pth", "-o", "adapted.pth", "--weights-only", "--json"], "adapt --json", 0, d)
    if doc is not None:
        c.check(doc["ok"] is True and doc["written"] is True, "adapt --json: ok and written: %s" % sgtest.short(doc))
    doc, _ = run_doc(c, [adapt, "sgd.pth", "--like", "template.pth", "--strict", "on", "-o", "never.pth", "--json"],
                     "adapt --like --strict on --json (no match)", 1, d)
    if doc is not None:
        c.check(doc["ok"] is False and doc["match"]["ok"] is False and doc["failure"],
                "adapt failed match: ok false with a failure: %s" % sgtest.short(doc))
    c.check(not os.path.exists(os.path.join(d, "never.pth")), "adapt wrote a file for a failed match")


def refused(c, program, doc, what):
    c.check(sgtest.schema_problems(program, doc), "tools/schemas/%s.schema.json accepts %s" % (program, what))


def accepted(c, program, doc, what):
    c.eq(sgtest.schema_problems(program, doc), [], "tools/schemas/%s.schema.json refuses %s" % (program, what))


def check_schemas_refuse(c, inspect, adapt, d):
    """Real documents, each changed in one place: the schema must refuse the change (and accept the control)."""
    stats = json.loads(sgtest.run([inspect, "--json", "--stats", "--verify", "specials.pth", "sgd.pth"], cwd=d).out)
    accepted(c, INSPECT, stats, "a real --stats --verify document")
    for what, change in (
            ("a document without schema_version", lambda doc: doc.pop("schema_version")),
            ("schema_version 2", lambda doc: doc.update(schema_version=2)),
            ("a lowercase \"nan\" mean", lambda doc: doc["files"][0]["tensors"][3]["stats"].update(mean="nan")),
            ("a \"NaN\" min (min is finite or null)", lambda doc: doc["files"][0]["tensors"][0]["stats"].update(min="NaN")),
            ("stats without mean", lambda doc: doc["files"][0]["tensors"][0]["stats"].pop("mean")),
            ("an unknown tensor field", lambda doc: doc["files"][0]["tensors"][0].update(extra=1)),
            ("a file without optimizers", lambda doc: doc["files"][1].pop("optimizers")),
            ("an unknown dtype", lambda doc: doc["files"][0]["tensors"][0].update(dtype="float8")),
            ("ok with problems", lambda doc: doc["files"][0]["verify"].update(problems=["x"])),
            ("an unreadable file without its error (the old form)",
             lambda doc: doc["files"].append({"path": "x.pth", "verify": {"ok": False, "problems": ["gone"]}})),
            ("an error of two lines", lambda doc: doc["files"].append(
                {"path": "x.pth", "error": "a\nb", "verify": {"ok": False, "problems": ["a\nb"]}}))):
        doc = copy.deepcopy(stats)
        change(doc)
        refused(c, INSPECT, doc, what)
    control = copy.deepcopy(stats)
    control["files"][0]["tensors"][3]["stats"]["mean"] = "NaN"
    accepted(c, INSPECT, control, "a \"NaN\" mean (control)")

    diff = json.loads(sgtest.run([inspect, "--diff", "sgd.pth", "sgd_changed.pth", "--json"], cwd=d).out)
    for what, change in (("max_abs_diff \"inf\"", lambda doc: doc["diff"]["value_changed"][0].update(max_abs_diff="inf")),
                         ("identical with changes", lambda doc: doc["diff"].update(identical=True)),
                         ("different without changes", lambda doc: [doc["diff"][k].clear() for k in
                                                                    ("value_changed", "scalars_changed")])):
        doc = copy.deepcopy(diff)
        change(doc)
        refused(c, INSPECT, doc, what)

    report = json.loads(sgtest.run([adapt, "sgd.pth", "--like", "template.pth", "--strict", "on", "-o", "never.pth",
                                    "--json"], cwd=d).out)
    for what, change in (("a report without schema_version", lambda doc: doc.pop("schema_version")),
                         ("a failed match without failure", lambda doc: doc.update(failure=None)),
                         ("a match without mode", lambda doc: doc["match"].pop("mode"))):
        doc = copy.deepcopy(report)
        change(doc)
        refused(c, ADAPT, doc, what)

    # sg-eval needs LibTorch (py_eval validates its real output): a document as it prints one.
    evaluation = {"schema_version": 1, "checkpoint": "runs/RUN_1/ckpt_best.pth", "epoch": 2, "weights": "ema_net",
                  "layout": "sg", "run_dir": "runs/RUN_1", "experiment_name": "e", "architecture": "resnet18", "dataset": "fashion_mnist",
                  "split": "valid", "samples": 64, "batches": 2, "device": "cpu", "seconds": 0.25,
                  "loss": "CrossEntropyLoss", "metrics": {"Accuracy": 0.5, "CrossEntropyLoss": "Infinity"}}
    accepted(c, EVAL, evaluation, "an evaluation with an infinite loss")
    for what, change in (("an evaluation without schema_version", lambda doc: doc.pop("schema_version")),
                         ("a null metric (NaN as nlohmann writes it)", lambda doc: doc["metrics"].update(Accuracy=None)),
                         ("a \"nan\" metric", lambda doc: doc["metrics"].update(Accuracy="nan")),
                         ("an unknown field", lambda doc: doc.update(extra=True))):
        doc = copy.deepcopy(evaluation)
        change(doc)
        refused(c, EVAL, doc, what)

    # sgtest's check of every run: raises for a document the schema refuses and for NaN tokens.
    def fake(program, args, rc, out):
        return sgtest.Result(["/bin/" + program] + args, rc, out, "", False, 0.0)
    for what, r in (("a listing without schema_version", fake(INSPECT, ["--json", "a.pth"], 0, '{"files": []}')),
                    ("a bare NaN token", fake(EVAL, ["--json"], 0, json.dumps(dict(evaluation, metrics={"Accuracy": NAN})))),
                    ("a text where JSON was asked for", fake(ADAPT, ["--json"], 1, "wrote x.pth\n"))):
        try:
            sgtest.check_json_output(r)
            c.fail("sgtest.check_json_output let %s pass" % what)
        except sgtest.SchemaError:
            pass
    for what, r in (("exit 2", fake(INSPECT, ["--json", "a.pth"], 2, '{"files": []}')),
                    ("no --json", fake(INSPECT, ["a.pth"], 0, "a.pth: zip\n")),
                    ("another program", fake("cat", ["--json"], 0, "{}"))):
        try:
            sgtest.check_json_output(r)
        except sgtest.SchemaError as e:
            c.fail("sgtest.check_json_output checked a run it should leave alone (%s): %s" % (what, e))


def main():
    args = sgtest.parse_args(__doc__, paths=("adapt",))
    d = sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_json_schemas")
    inspect, adapt = os.path.abspath(args.inspect), os.path.abspath(args.adapt)
    for program in (INSPECT, ADAPT, EVAL):
        sgtest.schema_validator(program)   # each schema is itself a valid JSON Schema, or this raises
    param_groups = make_files(d)
    check_inspect_modes(c, inspect, d, param_groups)
    check_verify(c, inspect, d)
    check_diff(c, inspect, d)
    check_adapt(c, adapt, d)
    check_schemas_refuse(c, inspect, adapt, d)
    c.report()


if __name__ == "__main__":
    main()
