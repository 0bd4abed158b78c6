#!/usr/bin/env python3
"""The toolkit as `cmake --install` leaves it, with the source tree and the build out of reach.

- `cmake --install BUILD --prefix P` puts the six programs in P/bin, the recipes and the JSON
  schemas in P/share/sg-checkpoint-toolkit, man pages in P/share/man/man1 and the shell
  completions in P/share/bash-completion/completions and P/share/zsh/site-functions.
- In a private mount namespace with empty tmpfs folders over the source tree and the build
  folder, the installed copy trains the main job (the default recipe on Fashion-MNIST, a few
  batches), evaluates and inspects its checkpoint, adapts it with --model (sg-ckpt-adapt
  finds sg-model-template beside itself), and answers --version on every program.
- The man pages render; bash and zsh complete flags, recipe names and override keys.
"""
import json
import os
import re
import shlex
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

PROGRAMS = ["sg-train", "sg-resume", "sg-eval", "sg-ckpt-inspect", "sg-ckpt-adapt", "sg-model-template"]
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The main job, cut short: a few batches of one epoch.
MAIN_JOB_SHORT = ["epochs=1", "training_hyperparams.max_train_batches=5", "training_hyperparams.max_valid_batches=2",
                  "training_hyperparams.average_best_models=False"]


def toolkit_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(\S+ VERSION (\S+)", f.read()).group(1)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def hidden(commands, *, hide):
    """`commands` (a bash script) run with an empty tmpfs over each folder of `hide`."""
    # The deepest first: a folder inside another is gone once the outer one is covered.
    mounts = "".join("mount -t tmpfs sg-hidden %s && " % shlex.quote(folder)
                     for folder in sorted(hide, key=len, reverse=True))
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    return unshare + ["bash", "-c", "set -euo pipefail; " + mounts + commands]


def check_layout(checker, prefix):
    for program in PROGRAMS:
        checker.check(os.access(os.path.join(prefix, "bin", program), os.X_OK), "bin/%s not installed" % program)
        checker.check(os.path.isfile(os.path.join(prefix, "share/man/man1", program + ".1")),
                      "man page of %s not installed" % program)
        checker.check(os.path.isfile(os.path.join(prefix, "share/bash-completion/completions", program)),
                      "bash completion of %s not installed" % program)
    data = os.path.join(prefix, "share/sg-checkpoint-toolkit")
    checker.check(os.path.isfile(os.path.join(data, "recipes/fashion_mnist_resnet.yaml")), "recipes not installed")
    checker.check(os.path.isfile(os.path.join(prefix, "share/zsh/site-functions/_sg-toolkit")), "zsh completion not installed")
    for program in ["sg-ckpt-inspect", "sg-eval"]:
        checker.check(os.path.isfile(os.path.join(data, "schemas", program + ".schema.json")),
                      "JSON schema of %s not installed" % program)


def check_without_sources(checker, prefix, build, work):
    bin_dir = os.path.join(prefix, "bin")
    root = os.path.join(work, "ckpts")
    q = shlex.quote
    script = " && ".join([
        # Nothing of the source tree or the build is readable any more.
        "! test -e %s/recipes/fashion_mnist_resnet.yaml" % q(SOURCE),
        "! test -e %s/CMakeCache.txt" % q(build),
        "cd %s" % q(work),
        "for p in %s; do %s/$p --version; done" % (" ".join(PROGRAMS), q(bin_dir)),
        "run=$(%s/sg-train ckpt_root_dir=%s %s)" % (q(bin_dir), q(root), " ".join(MAIN_JOB_SHORT)),
        "echo \"RUN=$run\"",
        "%s/sg-eval --experiment-name fashion_mnist_resnet --ckpt-root-dir %s --json > eval.json" % (q(bin_dir), q(root)),
        "%s/sg-ckpt-inspect --json \"$run/ckpt_latest.pth\" > inspect.json" % q(bin_dir),
        # --model: sg-ckpt-adapt runs the sg-model-template beside it.
        "%s/sg-model-template resnet_mini 10 template.pth" % q(bin_dir),
        "%s/sg-ckpt-adapt template.pth --model resnet_mini --num-classes 10 -o adapted.pth" % q(bin_dir),
    ])
    r = sgtest.run(hidden(script, hide=[SOURCE, build]), timeout=900)
    if not checker.check(r.rc == 0, "the installed copy without sources: %s" % r.describe()):
        return
    versions = [line for line in r.out.splitlines() if line.startswith("sg-")]
    checker.eq([line.split()[0] for line in versions], PROGRAMS, "--version first lines")
    for line in versions:
        checker.check(line.split()[1] == toolkit_version() and "(git " in line,
                      "--version line %r: not '<program> <version> (git <revision>)'" % line)
    runtimes = [line for line in r.out.splitlines() if line.startswith(("LibTorch ", "no LibTorch"))]
    checker.check(len(runtimes) == len(PROGRAMS) and all(("CPU only" in x or "CUDA" in x) for x in runtimes
                                                         if x.startswith("LibTorch")),
                  "--version runtime lines: %r" % runtimes)
    run_dir = [line[4:] for line in r.out.splitlines() if line.startswith("RUN=")][0]
    checker.check(run_dir.startswith(root) and os.path.isfile(os.path.join(run_dir, "ckpt_latest.pth")),
                  "the main job's run directory %r" % run_dir)
    doc = load_json(os.path.join(work, "eval.json"))
    checker.check(doc.get("architecture") == "resnet_mini" and doc.get("dataset") == "fashion_mnist",
                  "sg-eval of the installed run: %r" % doc)
    listing = load_json(os.path.join(work, "inspect.json"))
    checker.check(isinstance(listing, dict) and listing, "sg-ckpt-inspect of the installed run: %r" % listing)
    checker.check(os.path.getsize(os.path.join(work, "adapted.pth")) > 0, "sg-ckpt-adapt --model wrote nothing")


def check_man_pages(checker, prefix):
    for program in PROGRAMS:
        page = os.path.join(prefix, "share/man/man1", program + ".1")
        r = sgtest.run(["man", "-l", page], env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"), timeout=60)
        checker.check(r.rc == 0 and "--help" in r.out and "--version" in r.out and re.search(r"Exit\s+status", r.out),
                      "man page of %s: %s" % (program, r.describe()))


def bash_completion(prefix, line):
    """What bash's completion of `line` (cursor at its end) offers, with the installed script."""
    script = os.path.join(prefix, "share/bash-completion/completions/sg-train")
    # COMP_WORDS split as bash splits words for completion: at blanks, and around '=' and ':'.
    driver = "\n".join([
        "source %s" % shlex.quote(script),
        "COMP_LINE=%s; COMP_POINT=${#COMP_LINE}" % shlex.quote(line),
        "read -r -a COMP_WORDS <<<\"$(sed -E 's/([=:])/ \\1 /g' <<<\"$COMP_LINE\")\"",
        "[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')",
        "[[ $COMP_LINE == *= ]] && COMP_WORDS+=('')",
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))",
        "_sg_toolkit",
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
    ])
    r = sgtest.run(["bash", "-c", driver], env=dict(os.environ, PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"]),
                   timeout=120)
    return r, r.out.split()


def zsh_completion(prefix, words):
    """What the zsh completion offers for `words` (the last one being completed)."""
    function = os.path.join(prefix, "share/zsh/site-functions/_sg-toolkit")
    q = shlex.quote
    driver = "\n".join([
        "compadd() { local suffix=; while [[ $1 == -* ]]; do [[ $1 == -S ]] && { suffix=$2; shift; }; "
        "[[ $1 == -- ]] && { shift; break; }; shift; done; for w in \"$@\"; do [[ $w == $PREFIX* ]] && print -r -- \"$w$suffix\"; done; }",
        "_files() { print -r -- '<files>'; }",
        "words=(%s)" % " ".join(q(w) for w in words),
        "CURRENT=${#words}",
        "PREFIX=$words[CURRENT]",
        "source %s" % q(function),
        "true",
    ])
    r = sgtest.run(["zsh", "-f", "-c", driver], env=dict(os.environ, PATH=os.path.join(prefix, "bin") + ":" + os.environ["PATH"]),
                   timeout=120)
    return r, r.out.split()


def check_completion(checker, prefix):
    cases = [
        ("sg-train --config-n", ["--config-name"]),
        ("sg-eval --max-b", ["--max-batches"]),
        ("sg-train --config-name fash", ["fashion_mnist_resnet"]),
        ("sg-eval --config-name test_t", ["test_tiny"]),
        ("sg-train training_hyperparams.max_ep", ["training_hyperparams.max_epochs="]),
        ("sg-train --config-name test_tiny dataset_params.synthetic.tr", ["dataset_params.synthetic.train_size="]),
    ]
    for line, expected in cases:
        r, offered = bash_completion(prefix, line)
        checker.check(r.rc == 0 and offered == expected, "bash completion of %r: %r (%s)" % (line, offered, r.err[-300:]))
        r, offered = zsh_completion(prefix, line.split(" "))
        checker.check(r.rc == 0 and offered == expected, "zsh completion of %r: %r (%s)" % (line, offered, r.err[-300:]))
    # After '=', bash's word is the value: the key is not offered again.
    r, offered = bash_completion(prefix, "sg-train training_hyperparams.max_epochs=")
    checker.check(r.rc == 0 and offered == [], "bash completion after '=': %r" % offered)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("build",))
    checker = sgtest.Checker("installed copy")
    # Outside the build folder, which the checks hide.
    work = tempfile.mkdtemp(prefix="sg-installed-")
    prefix = os.path.join(work, "prefix")
    r = sgtest.run(["cmake", "--install", args.build, "--prefix", prefix], timeout=300)
    if checker.check(r.rc == 0, "cmake --install: %s" % r.describe()):
        check_layout(checker, prefix)
        job = os.path.join(work, "job")
        os.makedirs(job)
        check_without_sources(checker, prefix, os.path.abspath(args.build), job)
        check_man_pages(checker, prefix)
        check_completion(checker, prefix)
    shutil.rmtree(work, ignore_errors=True)
    checker.report()


if __name__ == "__main__":
    main()
