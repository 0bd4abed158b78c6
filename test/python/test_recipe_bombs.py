"""Hostile recipes: sg-train refuses them at once, creating nothing.

Each recipe is built here: nested YAML anchors doubling per level (the 413- and 575-byte
kinds, which took 51 s and 800 MB or never finished), a string doubled through `${}`
references per level (the 651-byte kind, 5 GB then std::bad_alloc), lists copied through
references, a defaults list loading files again and again, nesting deeper than any parser
recursion, an alias inside its own node, an override value of nested aliases, `defaults:`
entries and group=option overrides climbing out of the recipe folder, a symbolic link out
of it, and a FIFO named <recipe>.yaml (which must not be waited on).

sg-train runs each with --config-dir in a fresh empty working folder, under RLIMIT_AS =
2 GiB (none under SG_SANITIZED, where ASan's own allocation limit stands in), and must:
  - exit 2 (not a signal, not the hang guard's timeout),
  - print exactly one line on stderr, `sg-train: error: ...`, naming the problem,
  - print nothing on stdout,
  - leave the working folder empty (no run directory, no checkpoints/) and the recipe
    folder as it was.
A control run of the tests' tiny recipe from the same kind of working folder shows that a
run directory would be seen there.
"""

import os
import re
import sys

import sgtest

HANG_GUARD = 120  # seconds; only so that a regression cannot block CI
AS_LIMIT = 2 << 30
if os.environ.get("SG_SANITIZED") == "1":
    AS_LIMIT = None
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":max_allocation_size_mb=2048"


def alias_bomb(levels):
    lines = ["a0: &a0 [x, x]"] + ["a%d: &a%d [*a%d, *a%d]" % (i, i, i - 1, i - 1) for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def string_doubling_bomb(levels):
    lines = ["s0: xxxxxxxxxxxxxxxx"] + ["s%d: ${s%d}${s%d}" % (i, i - 1, i - 1) for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def copy_doubling_bomb(levels):
    lines = ["l0: [x, x]"] + ["l%d: ['${l%d}', '${l%d}']" % (i, i - 1, i - 1) for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def override_alias_bomb(levels):
    parts = ["&a0 [1, 1]"] + ["&a%d [*a%d, *a%d]" % (i, i - 1, i - 1) for i in range(1, levels)]
    return "+bomb=[" + ", ".join(parts) + "]"


class Case:
    def __init__(self, name, files, expect, overrides=(), fifo=None, links=()):
        self.name, self.files, self.expect = name, files, expect
        self.overrides, self.fifo, self.links = list(overrides), fifo, links


def cases():
    fifo = Case("fifo", {}, r"cannot read recipe file '.*/fifo\.yaml': not a regular file$", fifo="fifo.yaml")
    return [
        Case("alias_413", {"alias_413.yaml": alias_bomb(20)}, r"aliases expand to more than \d+ nodes$"),
        Case("alias_575", {"alias_575.yaml": alias_bomb(26)}, r"aliases expand to more than \d+ nodes$"),
        Case("strings_651", {"strings_651.yaml": string_doubling_bomb(37)},
             r"recipe 'strings_651' \(.*strings_651\.yaml\): s\d+: the recipe would have more than \d+ bytes of text$"),
        Case("copies", {"copies.yaml": copy_doubling_bomb(40)}, r": l\d+\.\d+: the recipe would have more than \d+ nodes$"),
        Case("defaults_loop", dict([("defaults_loop.yaml", "defaults: [f1, f1, f1, f1]\n")] +
                                   [("f%d.yaml" % i, "defaults: [f{0}, f{0}, f{0}, f{0}]\n".format(i + 1)) for i in range(1, 12)] +
                                   [("f12.yaml", "x: 1\n")]),
             r"the defaults lists load more than \d+ files"),
        Case("deep", {"deep.yaml": "a: " + "[" * 200000 + "]" * 200000 + "\n"}, r"line 1: nested more than \d+ levels deep$"),
        Case("self_alias", {"self_alias.yaml": "a: &a [1, *a]\n"}, r"line 1: alias refers to a node that contains it$"),
        Case("override_bomb", {"override_bomb.yaml": "x: 1\n"}, r"override '\+bomb=.*': aliases expand to more than \d+ nodes$",
             overrides=[override_alias_bomb(30)]),
        Case("climb", {"climb.yaml": "defaults:\n  - ../outside/secret\n"},
             r"recipe file '.*climb\.yaml': defaults entry '\.\./outside/secret': .* has a '\.\.' segment; "
             r"names must stay inside the recipe folders$"),
        Case("group_climb", {"group_climb.yaml": "defaults:\n  - training_hyperparams: ../../outside/secret\n"},
             r"defaults entry 'training_hyperparams: \.\./\.\./outside/secret': .* has a '\.\.' segment"),
        Case("choice_climb", {"choice_climb.yaml": "defaults:\n  - training_hyperparams: default_train_params\n"},
             r"override 'training_hyperparams=\.\./\.\./outside/secret': .* has a '\.\.' segment",
             overrides=["training_hyperparams=../../outside/secret"]),
        Case("link_out", {"link_out.yaml": "defaults:\n  - training_hyperparams: escape\n"},
             r"'.*training_hyperparams/escape\.yaml' leads outside the recipe folders \(to '.*secret\.yaml'\)$",
             links=[("training_hyperparams/escape.yaml", "outside/secret.yaml")]),
        fifo,
    ]


def prepare(top, case):
    """<top>/recipes/ (with a training_hyperparams/ group, so that every climb out of it
    reaches a real file) and <top>/outside/secret.yaml; returns (recipes, working folder)."""
    recipes = os.path.join(top, "recipes")
    os.makedirs(os.path.join(top, "outside"))
    with open(os.path.join(top, "outside", "secret.yaml"), "w") as f:
        f.write("secret: 42\n")
    os.makedirs(os.path.join(recipes, "training_hyperparams"))
    for rel, text in case.files.items():
        with open(os.path.join(recipes, rel), "w") as f:
            f.write(text)
    for rel, target in case.links:
        path = os.path.join(recipes, rel)
        os.symlink(os.path.join(top, target), path)
    if case.fifo:
        os.mkfifo(os.path.join(recipes, case.fifo))
    work = os.path.join(top, "work")
    os.makedirs(work)
    return recipes, work


def check_case(args, checker, case):
    top = sgtest.fresh_dir(os.path.join(args.workdir, case.name))
    recipes, work = prepare(top, case)
    before = sgtest.dir_snapshot(top)
    cmd = [args.train, "--config-dir", recipes, "--config-name", case.name] + case.overrides
    r = sgtest.run(cmd, timeout=HANG_GUARD, as_limit=AS_LIMIT, cwd=work)
    lines = r.err.splitlines()
    checker.check(r.rc == 2, "%s: expected exit 2: %s" % (case.name, r.describe()))
    checker.check(len(lines) == 1 and lines[0].startswith("sg-train: error: "),
                  "%s: stderr should be exactly one 'sg-train: error:' line: %s" % (case.name, sgtest.short(r.err, 600)))
    checker.check(bool(lines) and re.search(case.expect, lines[0]) is not None,
                  "%s: the error should match %r: %s" % (case.name, case.expect, sgtest.short(r.err, 600)))
    checker.check(r.out == "", "%s: printed on stdout: %s" % (case.name, sgtest.short(r.out)))
    checker.check(os.listdir(work) == [], "%s: created %s in the working folder" % (case.name, os.listdir(work)))
    checker.check(sgtest.dir_snapshot(top) == before, "%s: changed the recipe folder" % case.name)


def check_control(args, checker):
    """The same kind of run on a good recipe leaves a run directory in the working folder."""
    top = sgtest.fresh_dir(os.path.join(args.workdir, "control"))
    work = os.path.join(top, "work")
    os.makedirs(work)
    r = sgtest.run([args.train, "--config-dir", top, "--config-name", "test_tiny", "epochs=1"],
                   timeout=300, as_limit=None, cwd=work)
    checker.check(r.rc == 0, "control: expected exit 0: %s" % r.describe())
    runs = os.path.join(work, "checkpoints", "test_tiny")
    checker.check(os.path.isdir(runs) and any(n.startswith("RUN_") for n in os.listdir(runs)),
                  "control: no run directory under %s" % runs)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train",))
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_recipe_bombs")
    for case in cases():
        check_case(args, checker, case)
    check_control(args, checker)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
