"""Resume, branch and survive crashes: sg-train / sg-resume against real PyTorch.

- 4 epochs straight, 2 + resume 2, and SIGTERM at several states + resume give
  bit-identical `net`, `ema_net` and optimizer state (hashes from sg-ckpt-inspect).
- Each way to resume: resume=True (latest run), run_id, resume_path (a new run that
  records its origin), sg-resume from the stored recipe after the recipe file changed,
  max_epochs extension; the best metric survives a resume.
- 30 kill -9 at random moments after a state: every .pth left verifies and the run resumes.
- A full disk (RLIMIT_FSIZE): exit 3, one line, previous checkpoints untouched.
- A checkpoint of another model is refused naming the keys; a Python-written checkpoint
  (torchvision resnet18 + torch.optim.SGD) is continued with its weights and momentum.
"""

import glob
import os
import random
import resource
import shutil
import signal
import subprocess
import sys

import sgtest

# The cosine rate and SG's `exp` EMA decay depend on max_epochs, so a run first given
# epochs=2 then extended to 4 cannot match one given 4: use a step schedule and the
# `threshold` decay, which depend only on the position reached.
BASE = ["dataset_params.synthetic.train_size=4000", "training_hyperparams.max_train_batches=null",
        "training_hyperparams.lr_mode=StepLRScheduler", "training_hyperparams.lr_updates=[3]",
        "training_hyperparams.save_ckpt_epoch_list=[]", "ema=True", "training_hyperparams.ema_params.decay_type=threshold"]


class Env:
    def __init__(self, args):
        self.args = args

    def train_cmd(self, root, experiment, *overrides, recipe="test_tiny"):
        return [self.args.train, "--config-name", recipe, "ckpt_root_dir=" + root, "experiment_name=" + experiment] + \
            BASE + list(overrides)

    def train(self, root, experiment, *overrides, **kw):
        return sgtest.run(self.train_cmd(root, experiment, *overrides, **kw), timeout=300)

    def inspect(self, *args):
        return sgtest.inspect(self.args.inspect, *args)

    def state_hash(self, path):
        return sgtest.training_state_hash(self.args.inspect, path)


def last_line(r):
    return r.out.strip().splitlines()[-1] if r.out.strip() else ""


def check_exact_continuation(env, checker, root):
    straight = env.train(root, "straight", "epochs=4")
    checker.check(straight.rc == 0, "straight run: %s" % straight.describe())
    reference, ref_scalars = env.state_hash(os.path.join(last_line(straight), "ckpt_latest.pth"))

    first = env.train(root, "split", "epochs=2")
    second = env.train(root, "split", "epochs=4", "resume=True")
    checker.check(first.rc == 0 and second.rc == 0, "split run: %s / %s" % (first.describe(), second.describe()))
    checker.check(last_line(first) == last_line(second), "resume=True did not continue in place")
    split, split_scalars = env.state_hash(os.path.join(last_line(second), "ckpt_latest.pth"))
    checker.check(split == reference, "2 + resume 2 differs from 4 straight")
    checker.check(split_scalars["metrics"] == ref_scalars["metrics"], "metrics differ after 2 + 2")

    # SIGTERM once the run has reached a state: started training, then after each epoch.
    mid_epoch = 0
    for i, state in enumerate(["run directory", "epoch 1 train", "epoch 2 train", "epoch 3 train"]):
        experiment = "signal%d" % i
        p = sgtest.Started(env.train_cmd(root, experiment, "epochs=4"))
        reached = p.wait_for(state)
        p.signal(signal.SIGTERM)
        r = p.finish()
        if not checker.check(reached and r.rc in (0, 4), "SIGTERM after '%s': %s" % (state, r.describe())):
            continue
        if r.rc == 4:
            checker.check(r.err.strip().splitlines()[-1].startswith("sg-train: stopped by a signal"),
                          "stop message: %s" % r.err[-300:])
            mid_epoch += ", batch " in r.err
            checker.check(r.out.strip().splitlines()[-1:] == glob.glob(os.path.join(root, experiment, "RUN_*")),
                          "exit 4: the run directory is not the last line of stdout: %r" % r.out[-300:])
            resumed = env.train(root, experiment, "epochs=4", "resume=True")
            checker.check(resumed.rc == 0, "resume after SIGTERM: %s" % resumed.describe())
        run_dir = glob.glob(os.path.join(root, experiment, "RUN_*"))[0]
        got, _ = env.state_hash(os.path.join(run_dir, "ckpt_latest.pth"))
        checker.check(got == reference, "SIGTERM after '%s' + resume differs from 4 straight" % state)
    checker.check(mid_epoch >= 1, "no SIGTERM landed mid-epoch; the test did not exercise it")


def check_resume_modes(env, checker, root, torch):
    a = env.train(root, "modes", "epochs=1")
    b = env.train(root, "modes", "epochs=1")
    run_a, run_b = last_line(a), last_line(b)
    checker.check(run_a != run_b and run_b > run_a, "two runs expected: %s %s" % (run_a, run_b))
    latest = env.train(root, "modes", "epochs=2", "resume=True")
    checker.check(latest.rc == 0 and last_line(latest) == run_b, "resume=True continued %s, not the newest %s" %
                  (last_line(latest), run_b))
    by_id = env.train(root, "modes", "epochs=2", "training_hyperparams.run_id=" + os.path.basename(run_a))
    checker.check(by_id.rc == 0 and last_line(by_id) == run_a, "run_id continued %s, not %s" % (last_line(by_id), run_a))
    missing = env.train(root, "modes", "training_hyperparams.run_id=RUN_20000101_000000_000000")
    checker.check(missing.rc == 2 and "not found" in missing.err, "missing run_id: %s" % missing.describe())

    source = os.path.join(run_a, "ckpt_latest.pth")
    before = open(source, "rb").read()
    branch = env.train(root, "modes", "epochs=3", "training_hyperparams.resume_path=" + source)
    checker.check(branch.rc == 0, "branch: %s" % branch.describe())
    branch_dir = last_line(branch)
    checker.check(branch_dir not in (run_a, run_b) and os.path.isdir(branch_dir), "branch did not make a new run")
    c = torch.load(os.path.join(branch_dir, "ckpt_latest.pth"), weights_only=False)
    checker.check(c["sg_cpp_state"].get("branched_from") == source, "branch origin %r" % c["sg_cpp_state"])
    checker.check(c["epoch"] == 3, "branch epoch %s" % c["epoch"])
    checker.check(open(source, "rb").read() == before, "branching changed the source checkpoint")

    # sg-resume rebuilds from the stored recipe, even after the recipe file changed.
    recipes = os.path.join(root, "recipes")
    os.makedirs(recipes)
    shutil.copy(os.path.join(env.args.recipes, "test_tiny.yaml"), os.path.join(recipes, "my_tiny.yaml"))
    first = sgtest.run(env.train_cmd(root, "stored", "epochs=2", recipe="my_tiny")[:1] + ["--config-dir", recipes] +
                       env.train_cmd(root, "stored", "epochs=2", recipe="my_tiny")[1:], timeout=300)
    checker.check(first.rc == 0, "my_tiny run: %s" % first.describe())
    with open(os.path.join(recipes, "my_tiny.yaml"), "a") as f:
        f.write("\narchitecture: resnet18\n")
    r = sgtest.run([env.args.resume, "--experiment-name", "stored", "--ckpt-root-dir", root,
                    "training_hyperparams.max_epochs=3"], timeout=300)
    checker.check(r.rc == 0 and last_line(r) == last_line(first), "sg-resume: %s" % r.describe())
    if r.rc == 0:
        c = torch.load(os.path.join(last_line(r), "ckpt_latest.pth"), weights_only=False)
        checker.check(c["epoch"] == 3 and len(c["net"]) == 62, "sg-resume extended to epoch %s with %d keys" %
                      (c["epoch"], len(c["net"])))
    # sg-train's override words choose the run as the flags do; with neither, one usage line.
    r = sgtest.run([env.args.resume, "experiment_name=stored", "ckpt_root_dir=" + root,
                    "training_hyperparams.max_epochs=4"], timeout=300)
    checker.check(r.rc == 0 and last_line(r) == last_line(first), "sg-resume as overrides: %s" % r.describe())
    r = sgtest.run([env.args.resume, "ckpt_root_dir=" + root], timeout=60)
    checker.check(r.rc == 2 and r.err.count("\n") == 1 and "--experiment-name (or experiment_name=NAME)" in r.err,
                  "sg-resume without an experiment: %s" % r.describe())

    # The best metric survives a resume: watch the loss, which keeps falling.
    watch = ["training_hyperparams.metric_to_watch=CrossEntropyLoss",
             "training_hyperparams.greater_metric_to_watch_is_better=False"]
    env.train(root, "best", "epochs=2", *watch)
    r = env.train(root, "best", "epochs=4", "resume=True", *watch)
    best = torch.load(os.path.join(last_line(r), "ckpt_best.pth"), weights_only=False)
    latest_ckpt = torch.load(os.path.join(last_line(r), "ckpt_latest.pth"), weights_only=False)
    checker.check(best["epoch"] == 4, "ckpt_best.pth stopped updating after the resume (epoch %s)" % best["epoch"])
    checker.check(latest_ckpt["_best_ckpt_metrics"] == best["metrics"], "_best_ckpt_metrics not carried on")

    wrong = env.train(root, "modes", "epochs=3", "resume=True", "architecture=torchvision_resnet18")
    checker.check(wrong.rc == 2 and "does not fit the model" in wrong.err and "conv1.weight" in wrong.err,
                  "another model's checkpoint: %s" % wrong.describe())


def check_kill9(env, checker, root):
    """30 kill -9 at random moments of a run that keeps saving. Each process is killed once
    it has reached a state (the first: its first epoch saved; the others: the run
    directory open again), then after a random share of one more epoch's lines: what is
    asserted holds wherever the kill lands."""
    rng = random.Random(7)
    args = ["dataset_params.synthetic.train_size=64", "epochs=100000", "training_hyperparams.save_ckpt_epoch_list=[2,5,9]"]
    kills = 0
    for i in range(30):
        p = sgtest.Started(env.train_cmd(root, "kill", *args, *(["resume=True"] if i else [])))
        reached = p.wait_for("epoch 2 train" if i == 0 else "run directory")
        for _ in range(rng.randrange(3)):
            reached = reached and p.wait_for(" train: ")
        p.p.kill()
        r = p.finish()
        if not checker.check(reached and r.rc == -signal.SIGKILL, "kill %d: run before the kill: %s" % (i, r.describe())):
            continue
        kills += 1
        for f in glob.glob(os.path.join(root, "kill", "RUN_*", "**", "*.pth"), recursive=True):
            r, _ = env.inspect("--verify", f)
            checker.check(r.rc == 0, "after kill %d, %s does not verify: %s" % (i, os.path.basename(f), r.describe()))
    checker.check(kills == 30, "only %d kills" % kills)
    run_dir = glob.glob(os.path.join(root, "kill", "RUN_*"))
    if not checker.check(len(run_dir) == 1, "kill runs made %s" % run_dir):
        return
    _, doc = env.inspect("--json", os.path.join(run_dir[0], "ckpt_latest.pth"))
    epoch = doc["files"][0]["scalars"]["epoch"]
    r = env.train(root, "kill", "dataset_params.synthetic.train_size=64", "epochs=%d" % (epoch + 1), "resume=True")
    checker.check(r.rc == 0, "resume after the kills: %s" % r.describe())
    temps = [n for _, _, names in os.walk(run_dir[0]) for n in names if ".tmp-" in n]
    checker.check(not temps, "temp files not cleaned by the resume: %s" % temps)


def check_disk_full(env, checker, root):
    first = env.train(root, "full", "epochs=1")
    run_dir = last_line(first)
    before = {n: open(os.path.join(run_dir, n), "rb").read() for n in os.listdir(run_dir) if n.endswith(".pth")}

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    p = subprocess.run(env.train_cmd(root, "full", "epochs=2", "resume=True"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=limit, timeout=300)
    err = p.stderr.decode(errors="replace").strip().splitlines()
    checker.check(p.returncode == 3, "disk full: exit %s, stderr %s" % (p.returncode, err[-2:]))
    checker.check(err and err[-1].startswith("sg-train: error: cannot write ") and run_dir in err[-1] and
                  "File too large" in err[-1], "disk full message: %s" % err[-1:])
    after = {n: open(os.path.join(run_dir, n), "rb").read() for n in os.listdir(run_dir) if n.endswith(".pth")}
    checker.check(after == before, "previous checkpoints changed by the failed save")
    checker.check(not [n for n in os.listdir(run_dir) if ".tmp-" in n], "temp file left after the failed save")


def check_python_checkpoint(env, checker, root, torch, torchvision):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(4, 3, 8, 8)).sum().backward()
        opt.step()
    path = os.path.join(root, "python_sg.pth")
    torch.save({"net": model.state_dict(), "acc": 0.1, "epoch": 1, "optimizer_state_dict": opt.state_dict(),
                "metrics": {"tracked_metric_name": "Accuracy", "valid": {"Accuracy": 0.1}, "train": {}},
                "_best_ckpt_metrics": None, "scaler_state_dict": {}}, path)
    frozen = ["architecture=torchvision_resnet18", "ema=False", "training_hyperparams.lr_mode=null", "training_hyperparams.initial_lr=0.0",
              "training_hyperparams.optimizer_params.weight_decay=0.0", "epochs=2", "training_hyperparams.resume_path=" + path]
    results = {}
    for load_opt in ("True", "False"):
        r = env.train(root, "python" + load_opt, *frozen, "training_hyperparams.load_opt_params=" + load_opt)
        if not checker.check(r.rc == 0, "resume from Python's checkpoint: %s" % r.describe()):
            return
        results[load_opt] = torch.load(os.path.join(last_line(r), "ckpt_latest.pth"), weights_only=False)
    c = results["True"]
    checker.check(c["epoch"] == 2, "continued to epoch %s" % c["epoch"])
    checker.check(torch.equal(c["net"]["conv1.weight"], model.state_dict()["conv1.weight"]),
                  "weights did not continue from Python's (lr 0 must leave them unchanged)")
    buf_loaded = c["optimizer_state_dict"]["state"][0]["momentum_buffer"]
    buf_fresh = results["False"]["optimizer_state_dict"]["state"][0]["momentum_buffer"]
    checker.check(not torch.equal(buf_loaded, buf_fresh), "momentum did not continue (same as without Python's state)")
    restored = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    restored.load_state_dict(c["optimizer_state_dict"])


def main():
    args = sgtest.parse_args(__doc__, paths=("train", "resume", "recipes"))
    torch = sgtest.import_torch()
    import torchvision
    root = sgtest.fresh_dir(args.workdir)
    env = Env(args)
    checker = sgtest.Checker("test_resume")
    check_exact_continuation(env, checker, root)
    check_resume_modes(env, checker, root, torch)
    check_kill9(env, checker, root)
    check_disk_full(env, checker, root)
    check_python_checkpoint(env, checker, root, torch, torchvision)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
