"""README.md is executable documentation: what it tells a user to type must work.

The README's convention (its first lines say the same):
  ```sh    a block of commands a user types as they are. This test runs each one with bash
           (`set -euo pipefail`) in a scratch folder, the built programs first on PATH, and
           wants exit 0. Nothing in it may stand for something the user supplies.
  ```text  (or any other tag, or none) synopses, output, layouts: not run. Usage lines with
           [options], <placeholders>, FILE-like words and "..." belong here.
Every command line of our programs, in any fenced block and in any inline `code span` that
starts with a program's name, is checked: each -x / --flag must be one its --help lists, and
for sg-train, sg-resume and sg-eval each key=value word must be accepted. An inline span made
only of key=value words (`training_hyperparams.mixed_precision=True`) is an override given in
prose and must be accepted as written too. Every failure names the README line.

"Accepted" means: the program, run with the words on a short run, does not refuse one of their
keys (a line naming it: unknown key, nothing here reads it, wrong type, unparsable). Other
failures (a data folder or a zoo file that is not here, no run to resume) are not the words'
fault and pass. Where it runs:
  - sg-train: the command's own --config-name / --config-dir (SG's folder for <SG's recipes>),
    else the default recipe; an inline span on a line that names recipes (the status table of
    SG's recipes) runs against each of them and must be accepted by one. TINY_TRAIN is
    appended (one batch, one epoch, one process of one thread) and the run's folder is the test's.
  - sg-resume: a run this test trains first (the default recipe, TINY_TRAIN), copied for each check.
  - sg-eval: that run, or with --config-name the default recipe.
Placeholder values are substituted (PLACEHOLDERS): N -> 1, FILE -> that run's ckpt_best.pth,
<dataset> -> cifar10; other values are used as written. The environment of these runs points
SG_RCLONE at `false` (no remote is contacted) and SG_MODEL_ZOO at an empty folder.

The recipes' comment lines that show commands (recipes/*.yaml, `#   sg-train ...`) are checked
the same way.

In ```sh blocks, sg-train and sg-resume are shell functions that append SH_LIMITS (2 batches,
1 thread) to the user's words, so that `sg-train epochs=2` on the default recipe takes seconds.
scripts/train and scripts/test (NOT_RUN) are not run: they install packages, build, and run this
whole suite; the test checks that they are executable files of the source tree instead.
"""

import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_commands  # noqa: E402
import sgtest  # noqa: E402

# One process of one thread: on a busy 2-core machine a one-batch run takes 2 s instead of 5, and
# a span about SG's DDP recipes (`checkpoint_params.pretrained_weights=null`) starts no workers.
# `++` sets a key whether the recipe has it or not.
TINY_TRAIN = ["training_hyperparams.max_train_batches=1", "training_hyperparams.max_valid_batches=1", "epochs=1",
              "++training_hyperparams.num_threads=1", "++multi_gpu=Off", "++num_gpus=1"]
SH_LIMITS = ["training_hyperparams.max_train_batches=2", "training_hyperparams.max_valid_batches=2",
             "training_hyperparams.num_threads=1"]
DEFAULT_RECIPE = "fashion_mnist_resnet"
# Values that stand for what a user supplies; FILE becomes the base run's ckpt_best.pth.
PLACEHOLDERS = {"N": "1", "FILE": None, "<dataset>": "cifar10"}
NOT_RUN = {
    "scripts/train": "installs the Debian packages, builds build/ and trains 5 epochs",
    "scripts/test": "runs the whole test suite, this test included",
}
# Inline spans of key=value form that are not overrides: the grammar's own words (`key.sub=value`,
# `+new.key=value`, `~key`, `group=option`, `key=`), and PyTorch's load_state_dict(strict=...).
GRAMMAR_KEYS = {"key", "key.sub", "new.key", "group"}
NOT_OVERRIDES = {"strict=True", "strict=False"}
# What a refused key=value word makes the programs say (lib/recipe, lib/sg's unread and arch checks).
REFUSALS = re.compile(r"unknown key|nothing here reads|: expected (a|an) |not of the form key=value|"
                      r"cannot parse value|cannot add '|is not a mapping|not a parameter of")


def is_placeholder(word):
    return bool(re.match(r"^[A-Z][A-Z0-9_]*$", word)) or (word.startswith("<") and word.endswith(">")) or "..." in word


class Context:
    def __init__(self, args, checker):
        self.args, self.checker = args, checker
        self.source = os.path.dirname(os.path.abspath(args.readme))
        self.work = sgtest.fresh_dir(args.workdir)
        self.programs = {"sg-train": args.train, "sg-resume": args.resume, "sg-eval": args.eval,
                         "sg-ckpt-inspect": args.inspect, "sg-ckpt-adapt": args.adapt,
                         "sg-model-template": args.template}
        self.path = os.pathsep.join([os.path.dirname(os.path.abspath(p)) for p in self.programs.values()] +
                                    [os.environ.get("PATH", "")])
        zoo = os.path.join(self.work, "empty_zoo")
        os.makedirs(zoo)
        self.env = {"SG_RCLONE": shutil.which("false"), "SG_MODEL_ZOO": zoo, "NO_COLOR": "1"}
        self.help_flags = {}
        self.accepted = {}     # (program, words, flags) -> None (accepted) or the refusal line
        self.counter = 0
        self.base_root = self.base_ckpt = None
        self.unchecked = []    # README lines not checked: they need SG's recipe folder, absent here

    def scratch(self, what):
        self.counter += 1
        return sgtest.fresh_dir(os.path.join(self.work, "%03d_%s" % (self.counter, what)))

    def flags_of(self, program):
        if program not in self.help_flags:
            r = sgtest.run([self.programs[program], "--help"], timeout=60)
            self.checker.check(r.rc == 0, "%s --help: %s" % (program, r.describe()))
            flags = set()
            for line in r.out.splitlines():
                head = line.strip().split(" ", 1)[0]
                if head.startswith("-"):
                    flags.update(f for f in head.split(",") if re.match(r"^--?[A-Za-z][\w-]*$", f))
            self.help_flags[program] = flags
        return self.help_flags[program]

    def train_base_run(self):
        """The run sg-resume and sg-eval checks use, and FILE's checkpoint."""
        self.base_root = self.scratch("base_run")
        r = sgtest.run([self.programs["sg-train"]] + TINY_TRAIN + ["ckpt_root_dir=" + self.base_root],
                       timeout=300, env=self.env)
        if not self.checker.check(r.rc == 0, "the base run for sg-resume and sg-eval: %s" % r.describe()):
            return False
        self.base_ckpt = os.path.join(r.out.strip().splitlines()[-1], "ckpt_best.pth")
        return self.checker.check(os.path.isfile(self.base_ckpt), "the base run has no %s" % self.base_ckpt)


def substituted(ctx, word):
    key, eq, value = word.partition("=")
    if not eq:
        return word
    if value not in PLACEHOLDERS:
        return word
    return key + "=" + (PLACEHOLDERS[value] or ctx.base_ckpt)


def recipe_flags(ctx, command):
    """--config-name / --config-dir of a README command, placeholders replaced."""
    out = []
    name, folder = command.option("--config-name"), command.option("--config-dir")
    if folder and folder.startswith("<SG"):
        out += ["--config-dir", ctx.args.sg_recipes]
    elif folder and not is_placeholder(folder):
        out += ["--config-dir", folder]
    if name:
        out += ["--config-name", DEFAULT_RECIPE if is_placeholder(name) else name]
    return out


def refusal(ctx, program, words, flags):
    """None when `program` accepts `words`, else the line that refuses one (runs once per case)."""
    key = (program, tuple(words), tuple(flags))
    if key not in ctx.accepted:
        argv = argv_for(ctx, program, words, flags)
        r = sgtest.run(argv, timeout=300, env=ctx.env)
        keys = [w.lstrip("+~").split("=", 1)[0] for w in words]
        lines = [l for l in r.err.splitlines() if REFUSALS.search(l) and any(k in l for k in keys)]
        ctx.accepted[key] = None if r.rc == 0 or not lines else lines[0]
        if ctx.args.verbose:
            print("  %s -> %s%s" % (" ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv)),
                                    r.rc, "" if r.rc == 0 else ": " + (r.err.strip().splitlines() or [""])[-1]))
    return ctx.accepted[key]


def argv_for(ctx, program, words, flags):
    """How a program is run to see whether it accepts `words` (see the docstring)."""
    words = [substituted(ctx, w) for w in words]
    if program == "sg-train":
        return ([ctx.programs["sg-train"]] + flags + words + TINY_TRAIN +
                ["++ckpt_root_dir=" + ctx.scratch("train")])
    if program == "sg-resume":
        root = ctx.scratch("resume")
        shutil.copytree(ctx.base_root, root, dirs_exist_ok=True)
        return ([ctx.programs["sg-resume"], "--experiment-name", DEFAULT_RECIPE, "--ckpt-root-dir", root] + words +
                ["training_hyperparams.max_epochs=2"])
    if "--config-name" in flags:
        return [ctx.programs["sg-eval"], "--config-name", flags[flags.index("--config-name") + 1]] + words
    return [ctx.programs["sg-eval"], "--experiment-name", DEFAULT_RECIPE, "--ckpt-root-dir", ctx.base_root] + words


def check_command(ctx, where, command, run_overrides=True):
    known = ctx.flags_of(command.program)
    for flag in command.flags():
        ctx.checker.check(flag in known, "%s: `%s ... %s`: %s has no option %s (its --help lists %s)" % (
            where, command.program, flag, command.program, flag, " ".join(sorted(known))))
    words = command.overrides()
    if run_overrides and words and command.program in ("sg-train", "sg-resume", "sg-eval") and ctx.base_ckpt:
        refused = refusal(ctx, command.program, words, recipe_flags(ctx, command))
        ctx.checker.check(refused is None, "%s: `%s %s`: refused: %s" % (
            where, command.program, " ".join(words), refused))


def recipes_named(ctx, spans_on_line):
    """--config-dir/--config-name of the recipes a line names in code spans, SG's first."""
    out = []
    for text in spans_on_line:
        if re.match(r"^\w+$", text):
            if os.path.isfile(os.path.join(ctx.args.sg_recipes, text + ".yaml")):
                out.append(["--config-dir", ctx.args.sg_recipes, "--config-name", text])
            if os.path.isfile(os.path.join(ctx.source, "recipes", text + ".yaml")):
                out.append(["--config-name", text])
    return out or [[]]


def names_other_recipes(ctx, spans_on_line):
    """The line names a recipe (a one-word span) that is not one of ours: SG's, perhaps."""
    return any(re.match(r"^\w+$", text) and not os.path.isfile(os.path.join(ctx.source, "recipes", text + ".yaml"))
               for text in spans_on_line)


def check_prose_override(ctx, where, span, spans_on_line):
    words = readme_commands.words(span)
    refused = None
    for flags in recipes_named(ctx, spans_on_line):
        refused = refusal(ctx, "sg-train", words, flags)
        if refused is None:
            return
    if not os.path.isdir(ctx.args.sg_recipes) and names_other_recipes(ctx, spans_on_line):
        ctx.unchecked.append(where)
        return
    ctx.checker.fail("%s: `%s`: refused as an override: %s" % (where, span, refused))


def check_inline(ctx, prose):
    spans = list(readme_commands.code_spans(prose))
    by_line = {}
    for line, text in spans:
        by_line.setdefault(line, []).append(text)
    for line, text in spans:
        where = "README.md:%d" % line
        if text.split(" ", 1)[0] in readme_commands.PROGRAMS:
            for command in readme_commands.commands(text):
                check_command(ctx, where, command)
            continue
        ws = readme_commands.words(text)
        if not ws or text in NOT_OVERRIDES or not all(readme_commands.OVERRIDE.match(w) for w in ws):
            continue
        if any(w.lstrip("+~").split("=", 1)[0] in GRAMMAR_KEYS for w in ws):
            continue
        if all("=" in w or w.startswith("~") for w in ws) and ctx.base_ckpt:
            check_prose_override(ctx, where, text, by_line[line])


def check_recipe_comments(ctx):
    """The recipes' comments show commands too (`#   sg-train --config-name cifar10_resnet ...`)."""
    folder = os.path.join(ctx.source, "recipes")
    for parent, _, files in sorted(os.walk(folder)):
        for name in sorted(f for f in files if f.endswith(".yaml")):
            path = os.path.join(parent, name)
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if line.lstrip().startswith("#"):
                        for command in readme_commands.commands(line.lstrip().lstrip("#")):
                            check_command(ctx, "%s:%d" % (os.path.relpath(path, ctx.source), number), command)


def sh_script(ctx, block):
    """The bash script of a ```sh block: the NOT_RUN lines checked and left out (kept as `:`
    so that line numbers hold), sg-train/sg-resume wrapped, and an EXIT trap naming the README
    line of the command that failed."""
    body = []
    for line in block.lines:
        first = line.split("#", 1)[0].split()
        if first and first[0] in NOT_RUN:
            path = os.path.join(ctx.source, first[0])
            ctx.checker.check(os.path.isfile(path) and os.access(path, os.X_OK),
                              "README.md:%d: %s is not an executable file" % (block.first_line + len(body), first[0]))
            line = ":  # not run by test_readme.py: " + NOT_RUN[first[0]]
        body.append(line)
    limits = " ".join(SH_LIMITS)
    prelude = [
        "set -euo pipefail",
        "sg-train() { command sg-train \"$@\" %s; }" % limits,
        "sg-resume() { command sg-resume \"$@\" %s; }" % limits,
        "at=0",
        "trap 'if ((LINENO > PRELUDE)); then at=$LINENO; fi' DEBUG",
        "trap 'rc=$?; if ((rc)); then echo \"README.md:$((at + OFFSET)): exit status $rc\" >&2; fi' EXIT",
    ]
    n = len(prelude)
    prelude = [l.replace("PRELUDE", str(n)).replace("OFFSET", str(block.first_line - n - 1)) for l in prelude]
    return "\n".join(prelude + body) + "\n", any(l.strip() and not l.lstrip().startswith((":", "#")) for l in body)


def run_sh_block(ctx, block):
    script, runs = sh_script(ctx, block)
    if not runs:
        return
    folder = ctx.scratch("sh_line_%d" % block.first_line)
    r = sgtest.run(["bash", "-c", script], timeout=300, cwd=folder, env={"PATH": ctx.path})
    if ctx.args.verbose:
        print("  ```sh block at README.md:%d -> %s (%.1f s)" % (block.first_line, r.rc, r.seconds))
    if r.rc != 0:
        failed_at = re.findall(r"README\.md:\d+: exit status \d+", r.err)
        ctx.checker.fail("%s, in the ```sh block of README.md:%d%s; its stderr ends: %s" % (
            failed_at[-1] if failed_at else "README.md:%d: exit status %s" % (block.first_line, r.rc),
            block.first_line, " (timed out)" if r.timed_out else "", " | ".join(
                [l for l in r.err.strip().splitlines() if not re.match(r"README\.md:\d+: exit", l)][-2:])))


def main():
    def extra(p):
        p.add_argument("--readme", required=True, help="the README.md to check")
        p.add_argument("--sg-recipes", required=True, help="SG's recipe folder (for <SG's recipes>)")

    args = sgtest.parse_args(__doc__.split("\n")[0], need_inspect=True,
                             paths=("train", "resume", "eval", "adapt", "template"), extra=extra)
    checker = sgtest.Checker("test_readme")
    ctx = Context(args, checker)
    try:
        with open(args.readme, encoding="utf-8") as f:
            blocks, prose = readme_commands.parse(f.read())
    except (OSError, ValueError) as e:
        sys.exit("test_readme: error: %s: %s" % (args.readme, e))
    if ctx.train_base_run():
        for block in blocks:
            for line, text in readme_commands.logical_lines(block):
                for command in readme_commands.commands(text):
                    # a ```sh block's commands run for real below
                    check_command(ctx, "README.md:%d" % line, command, run_overrides=block.tag != "sh")
        check_inline(ctx, prose)
        check_recipe_comments(ctx)
        for block in blocks:
            if block.tag == "sh":
                run_sh_block(ctx, block)
    checker.check(any(b.tag == "sh" for b in blocks), "README.md has no ```sh block to run")
    if ctx.unchecked:
        print("test_readme: SG's recipe folder %s is absent: the overrides of %s, on lines naming SG's recipes, "
              "were not checked" % (args.sg_recipes, ", ".join(ctx.unchecked)))
    checker.report()


if __name__ == "__main__":
    main()
