"""SuperGradients' own checkpoint tests, one case per SG test file, against our programs.

Each case is named after SG's test (tests/unit_tests/<name>.py, the EMA integration test and
the trainer end-to-end tests) and checks what that test checks, through sg-train, sg-resume,
sg-eval, sg-ckpt-inspect, sg-ckpt-adapt and sg-model-template on the built-in recipes
(`test_tiny`: synthetic 8x8 images; `cifar10_resnet` on CIFAR-10 files Python writes here),
reading what they write with torch.load. SG observes its trainer through callbacks; we observe
the files: a resumed run that continues from the right weights and epoch ends bit-identical to
an uninterrupted run, and weights loaded without training (max_train_batches=0, so no step
and no batch-norm update) are what the first checkpoint holds. Where we deliberately differ
from SG, the case's docstring names the divergence (README, "Where we differ from
SuperGradients") and the case checks our behaviour. A case that needs a feature we do not
have yet is reported as SKIP with the feature's name; it does not pass.

  test_sg_checkpoint_tests.py --train T --resume R --eval E --inspect I --adapt A --template M --workdir D [-k NAME]
"""

import glob
import math
import os
import re
import sys

import sgtest

# SG's train_params in these tests: StepLRScheduler, lr 0.1 decayed by 0.1 at the end of epoch 0 (SG: lr_updates entries <= the ended epoch).
SG_STEP = ["training_hyperparams.lr_mode=StepLRScheduler", "training_hyperparams.lr_updates=[0]",
           "training_hyperparams.lr_decay_factor=0.1", "training_hyperparams.initial_lr=0.1"]
LOAD_ONLY = ["training_hyperparams.max_train_batches=0", "training_hyperparams.max_epochs=1",
             "training_hyperparams.average_best_models=False"]


class Skip(Exception):
    """A case that cannot be expressed yet: the message names the missing feature."""


class Case:
    """One case's view of the run: its folder, the programs, and checks prefixed by its name."""

    def __init__(self, args, checker, torch, name):
        self.args, self.checker, self.torch, self.name = args, checker, torch, name
        self.dir = sgtest.fresh_dir(os.path.join(args.workdir, name))

    def check(self, cond, msg):
        return self.checker.check(cond, "%s: %s" % (self.name, msg))

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run(self, cmd):
        return sgtest.run(cmd, timeout=300)

    def train(self, root, *overrides, exp="e", recipe="test_tiny"):
        """sg-train into root/exp; the run directory, or None after recording the failure."""
        r = self.run([self.args.train, "--config-name", recipe, "ckpt_root_dir=" + self.path(root),
                      "experiment_name=" + exp] + list(overrides))
        if not self.check(r.rc == 0 and r.out.strip(), "sg-train %s failed: %s" % (" ".join(overrides), r.describe())):
            return None
        return r.out.strip().splitlines()[-1]

    def refused(self, r, program, *needles):
        """Exit 2 with one `<program>: error:` line holding every needle."""
        lines = r.err.strip().splitlines()
        return self.check(r.rc == 2 and len(lines) == 1 and lines[0].startswith(program + ": error:") and
                          all(n in lines[0] for n in needles),
                          "expected exit 2 and one line naming %s: %s" % (needles, r.describe()))

    def load(self, *parts):
        return self.torch.load(os.path.join(*parts), weights_only=False)

    def differing(self, a, b, keys=None):
        """Keys (of `keys`, default all of a's and b's) whose tensors are not bit-identical."""
        keys = list(a) if keys is None else keys
        out = [k for k in keys if k not in a or k not in b or not self.torch.equal(a[k], b[k])]
        return out + ([k for k in b if k not in a] if keys is None else [])

    def runs(self, root, exp):
        return sorted(glob.glob(self.path(root, exp, "RUN_*")))

    def log(self, run_dir):
        """All of the run's log files (a resumed run starts a new one, named by its time)."""
        text = ""
        for name in sorted(glob.glob(os.path.join(run_dir, "log_*.txt"))):
            with open(name, encoding="utf-8") as f:
                text += f.read()
        return text

    def lr(self, run_dir, name="ckpt_latest.pth"):
        return self.load(run_dir, name)["optimizer_state_dict"]["param_groups"][0]["lr"]

    def python_weights(self, num_classes, name, edit=None):
        """A resnet_mini state dict with random values, made by torch from sg-model-template's
        fresh model and saved by torch.save (after `edit`); returns (path, the saved dict)."""
        torch = self.torch
        template = self.path(name + "_template.pth")
        r = self.run([self.args.template, "resnet_mini", str(num_classes), template])
        self.check(r.rc == 0, "sg-model-template: %s" % r.describe())
        torch.manual_seed(num_classes)
        weights = {k: (torch.rand_like(v) + 0.5 if v.is_floating_point() else v + 7)
                   for k, v in torch.load(template).items()}
        saved = edit(dict(weights)) if edit else weights
        path = self.path(name + ".pth")
        torch.save(saved, path)
        return path, weights


# --- resume -------------------------------------------------------------------------------

def test_resume_training_test(c):
    """resume_training_test: resume=True, run_id, resume_path (another experiment and the same
    one) continue from the stored weights at the stored epoch: the 2 + 1 epoch run ends
    bit-identical to 3 straight epochs; run_id continues that run in place (no new folder, the
    other run untouched); resume_path starts a new run folder.
    Divergence (metric to watch changed on resume): SG evaluates the loaded model to get a best
    value for the new metric; we take the new metric's value in the stored best epoch
    (`_best_ckpt_metrics`), so ckpt_best.pth is rewritten only when the new metric beats it;
    changing the metric's direction while averaging is on is refused (SG reuses the store)."""
    straight = c.train("straight", *SG_STEP, "training_hyperparams.max_epochs=3")
    if not straight:
        return
    final = c.load(straight, "ckpt_latest.pth")

    def continues(run_dir, how):
        got = c.load(run_dir, "ckpt_latest.pth")
        c.check(got["epoch"] == 3, "%s: epoch %s, expected 3" % (how, got["epoch"]))
        diff = c.differing(got["net"], final["net"])
        c.check(not diff, "%s: net differs from 3 straight epochs at %s" % (how, diff[:3]))

    # resume=True: the latest run of the experiment, in place, from epoch 3.
    first = c.train("latest", *SG_STEP, "training_hyperparams.max_epochs=2")
    resumed = c.train("latest", *SG_STEP, "training_hyperparams.max_epochs=3", "resume=True")
    if first and resumed:
        c.check(resumed == first and c.runs("latest", "e") == [first], "resume=True made a new run: %s" % resumed)
        c.check("resumed from %s/ckpt_latest.pth at epoch 3" % first in c.log(first), "the log does not say epoch 3")
        continues(first, "resume=True")

    # run_id: two runs (different seeds, so different weights), the first one continued.
    v1 = c.train("byid", *SG_STEP, "training_hyperparams.max_epochs=2")
    v2 = c.train("byid", *SG_STEP, "training_hyperparams.max_epochs=2", "training_hyperparams.seed=7")
    if v1 and v2:
        c.check(v1 != v2 and len(c.runs("byid", "e")) == 2, "two trainings did not make two runs")
        before = sgtest.dir_snapshot(v2, hashes=True)
        again = c.train("byid", *SG_STEP, "training_hyperparams.max_epochs=3",
                        "training_hyperparams.run_id=" + os.path.basename(v1))
        c.check(again == v1 and len(c.runs("byid", "e")) == 2, "run_id did not continue the first run in place")
        continues(v1, "run_id")
        c.check(c.differing(c.load(v2, "ckpt_latest.pth")["net"], final["net"]), "the second run equals the first")
        c.check(not sgtest.snapshot_changes(before, sgtest.dir_snapshot(v2, hashes=True)), "the other run changed")

    # resume_path: a branch, into another experiment and into the same one.
    source = c.train("ext", *SG_STEP, "training_hyperparams.max_epochs=2")
    if source:
        before = sgtest.dir_snapshot(source, hashes=True)
        path = os.path.join(source, "ckpt_latest.pth")
        for exp, count in (("other", 1), ("e", 2)):
            branch = c.train("ext", *SG_STEP, "training_hyperparams.max_epochs=3",
                             "training_hyperparams.resume_path=" + path, exp=exp)
            if branch:
                c.check(branch != source and len(c.runs("ext", exp)) == count,
                        "resume_path into %s: %d runs, expected %d" % (exp, len(c.runs("ext", exp)), count))
                continues(branch, "resume_path into " + exp)
        c.check(not sgtest.snapshot_changes(before, sgtest.dir_snapshot(source, hashes=True)), "the source run changed")

    # A different metric to watch on resume (SG: DummyEpochMetric, then DummyMetric1).
    no_avg = SG_STEP + ["training_hyperparams.average_best_models=False"]
    m = c.train("metric", *no_avg, "training_hyperparams.max_epochs=2")
    if m:
        stored = c.load(m, "ckpt_latest.pth")["_best_ckpt_metrics"]
        c.train("metric", *no_avg, "training_hyperparams.max_epochs=3", "resume=True",
                "training_hyperparams.metric_to_watch=Top5")
        latest = c.load(m, "ckpt_latest.pth")
        improved = latest["metrics"]["valid"]["Top5"] > stored["valid"]["Top5"]
        want = latest["metrics"] if improved else stored
        c.check(latest["_best_ckpt_metrics"] == want and c.load(m, "ckpt_best.pth")["metrics"] == want,
                "best after switching to Top5: %s, expected %s" % (latest["_best_ckpt_metrics"], want))
    d = c.train("direction", *SG_STEP, "training_hyperparams.max_epochs=2")
    if d:
        before = sgtest.dir_snapshot(d, hashes=True)
        r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + c.path("direction"),
                   "experiment_name=e", "resume=True", "training_hyperparams.max_epochs=3",
                   "training_hyperparams.metric_to_watch=Loss",
                   "training_hyperparams.greater_metric_to_watch_is_better=False"] + SG_STEP)
        c.refused(r, "sg-train", "greater_is_better")
        c.check(not sgtest.snapshot_changes(before, sgtest.dir_snapshot(d, hashes=True)), "a refused resume changed the run")


def test_load_ema_ckpt_test(c):
    """load_ema_ckpt_test: with ema=True, resuming restores the EMA model saved in the run:
    2 epochs + resume=True to 3 end with the same ema_net (and net) as 3 straight epochs.
    The threshold decay is used because SG's exp decay depends on max_epochs (README)."""
    ema = SG_STEP + ["ema=True", "training_hyperparams.ema_params.decay_type=threshold"]
    straight = c.train("straight", *ema, "training_hyperparams.max_epochs=3")
    run = c.train("resumed", *ema, "training_hyperparams.max_epochs=2")
    if not (straight and run):
        return
    saved = c.load(run, "ckpt_latest.pth")["ema_net"]
    c.train("resumed", *ema, "training_hyperparams.max_epochs=3", "resume=True")
    a, b = c.load(run, "ckpt_latest.pth"), c.load(straight, "ckpt_latest.pth")
    for key in ("ema_net", "net"):
        diff = c.differing(a[key], b[key])
        c.check(not diff, "%s after resume differs from 3 straight epochs at %s" % (key, diff[:3]))
    c.check(c.differing(saved, a["ema_net"]), "the resumed epoch did not update the EMA")


# --- what is saved --------------------------------------------------------------------------

def test_save_ckpt_test(c):
    """save_ckpt_test: save_ckpt_epoch_list=[1,3] over 4 epochs leaves ckpt_epoch_1.pth and
    ckpt_epoch_3.pth (holding epochs 1 and 3, each a valid file for sg-ckpt-inspect --verify)
    and no other numbered checkpoint."""
    run = c.train("r", "training_hyperparams.max_epochs=4", "training_hyperparams.save_ckpt_epoch_list=[1,3]",
                  "training_hyperparams.lr_updates=[4]", *SG_STEP[:1])
    if not run:
        return
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(run, "ckpt_epoch_*.pth")))
    c.check(names == ["ckpt_epoch_1.pth", "ckpt_epoch_3.pth"], "numbered checkpoints %s" % names)
    for epoch in (1, 3):
        path = os.path.join(run, "ckpt_epoch_%d.pth" % epoch)
        if os.path.exists(path):
            c.check(c.load(path)["epoch"] == epoch, "%s holds epoch %s" % (path, c.load(path)["epoch"]))
            r = c.run([c.args.inspect, "--verify", path])
            c.check(r.rc == 0, "sg-ckpt-inspect --verify: %s" % r.describe())


def test_trainer_test(c):
    """trainer_test (end to end): a 1-epoch run trains; train then resume to 2 epochs (here with
    sg-resume); ckpt_best/latest/epoch_1 hold SG's keys and a weights-only file holds only `net`
    (SG's `_save_checkpoint` weights-only file; here `sg-ckpt-adapt --weights-only`);
    run_validation_freq=2 over 4 epochs validates epochs 2 and 4 and ckpt_best.pth holds the
    best epoch's metrics; freq 3 over 5 epochs with save_ckpt_epoch_list=[1] validates epoch 1 too.
    Divergence (keys): SG's test lists net, acc, epoch, optimizer_state_dict, scaler_state_dict,
    metrics, packages; SG's trainer also writes `_best_ckpt_metrics`, and we add `sg_cpp_state`
    (the exact position), which SG and PyTorch ignore."""
    one = ["training_hyperparams.max_epochs=1", "training_hyperparams.lr_updates=[4]", *SG_STEP[:1]]
    run = c.train("r", *one, "training_hyperparams.save_ckpt_epoch_list=[1]")
    if not run:
        return
    keys = {"net", "acc", "epoch", "optimizer_state_dict", "scaler_state_dict", "metrics", "packages",
            "_best_ckpt_metrics", "sg_cpp_state"}
    for name in ("ckpt_best.pth", "ckpt_latest.pth", "ckpt_epoch_1.pth"):
        got = set(c.load(run, name))
        c.check(got == keys, "%s keys: missing %s, unexpected %s" % (name, sorted(keys - got), sorted(got - keys)))
    out = c.path("weights_only.pth")
    r = c.run([c.args.adapt, os.path.join(run, "ckpt_latest.pth"), "--weights-only", "-o", out])
    if c.check(r.rc == 0, "sg-ckpt-adapt --weights-only: %s" % r.describe()):
        c.check(list(c.load(out)) == ["net"], "weights-only keys %s" % list(c.load(out)))

    r = c.run([c.args.resume, "--experiment-name", "e", "--ckpt-root-dir", c.path("r"), "training_hyperparams.max_epochs=2"])
    if c.check(r.rc == 0, "sg-resume to 2 epochs: %s" % r.describe()):
        c.check(c.load(run, "ckpt_latest.pth")["epoch"] == 2, "sg-resume did not reach epoch 2")

    freq2 = c.train("freq2", *one[1:], "training_hyperparams.max_epochs=4", "training_hyperparams.run_validation_freq=2",
                    "training_hyperparams.save_ckpt_epoch_list=[]")   # test_tiny's [1] would validate epoch 1
    if freq2:
        latest, best = c.load(freq2, "ckpt_latest.pth"), c.load(freq2, "ckpt_best.pth")
        c.check(latest["epoch"] == 4 and best["epoch"] in (2, 4) and best["metrics"] == latest["_best_ckpt_metrics"],
                "freq 2: latest epoch %s, best epoch %s" % (latest["epoch"], best["epoch"]))
        validated = re.findall(r"\] epoch (\d+) train: .* \| valid: ", c.log(freq2))
        c.check(validated == ["2", "4"], "freq 2 validated epochs %s" % validated)
    freq3 = c.train("freq3", *one[1:], "training_hyperparams.max_epochs=5", "training_hyperparams.run_validation_freq=3",
                    "training_hyperparams.save_ckpt_epoch_list=[1]")
    if freq3:
        for name, epoch in (("ckpt_epoch_1.pth", 1), ("ckpt_latest.pth", 5)):
            got = c.load(freq3, name)
            c.check(got["epoch"] == epoch and "valid" in got["metrics"] and got["metrics"]["valid"],
                    "freq 3: %s epoch %s metrics %s" % (name, got["epoch"], got["metrics"]))


def test_cifar_trainer_test(c):
    """cifar_trainer_test (end to end): SG's resnet18_cifar trains one epoch on CIFAR-10 and on
    CIFAR-100 through the shipped cifar10_resnet recipe (CIFAR-100: `dataset: cifar100` and
    100 classes, where SG's test uses its cifar100_train / cifar100_val dataloaders, which
    test_sg_cifar.py runs through SG's own recipe), here on random images that Python writes
    as torchvision's python version (pickled NumPy batches), a few batches."""
    import pickle
    gen = c.torch.Generator().manual_seed(0)

    def batch(labels_key, classes):
        data = c.torch.randint(0, 256, (16, 3072), generator=gen, dtype=c.torch.uint8).numpy()
        return {"data": data, labels_key: [i % classes for i in range(16)]}

    layouts = {
        "cifar10": ("cifar-10-batches-py", ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"], "labels", 10, []),
        "cifar100": ("cifar-100-python", ["train", "test"], "fine_labels", 100,
                     ["dataset_params.dataset=cifar100", "arch_params.num_classes=100"]),
    }
    for which, (folder, files, labels_key, classes, extra) in layouts.items():
        root = sgtest.fresh_dir(c.path(which))
        os.makedirs(os.path.join(root, folder))
        for name in files:
            with open(os.path.join(root, folder, name), "wb") as f:
                pickle.dump(batch(labels_key, classes), f, protocol=2)
        run = c.train(which, "dataset_params.root=" + root, "epochs=1", "batch_size=8", "val_batch_size=8",
                      "training_hyperparams.max_train_batches=2", "training_hyperparams.max_valid_batches=1",
                      "training_hyperparams.device=cpu", "training_hyperparams.num_threads=1", *extra,
                      recipe="cifar10_resnet")
        if run:
            got = c.load(run, "ckpt_latest.pth")
            head = tuple(got["net"]["linear.weight"].shape) if "linear.weight" in got["net"] else None
            c.check(got["epoch"] == 1 and head == (classes, 512), "%s run: epoch %s, head %s" % (which, got["epoch"], head))


# --- loading weights ------------------------------------------------------------------------

def test_strictload_enum_test(c):
    """strictload_enum_test: SG's StrictLoad enum spellings. ON loads a matching state dict
    exactly; a file without the head is refused by ON and loaded (all but the head) by OFF; a
    file whose keys are renamed to "0", "1", ... is refused by ON and loaded exactly by
    NO_KEY_MATCHING (pairing by position)."""
    full, weights = c.python_weights(10, "full")
    nohead, _ = c.python_weights(10, "nohead", lambda d: {k: v for k, v in d.items() if not k.startswith("fc.")})
    renamed, _ = c.python_weights(10, "renamed", lambda d: {str(i): v for i, v in enumerate(d.values())})
    backbone = [k for k in weights if not k.startswith("fc.")]

    def loads(path, mode, keys):
        run = c.train(mode + os.path.basename(path), *LOAD_ONLY, "checkpoint_params.checkpoint_path=" + path,
                      "checkpoint_params.strict_load=StrictLoad." + mode)
        if run:
            diff = c.differing(c.load(run, "ckpt_latest.pth")["net"], weights, keys)
            c.check(not diff, "%s with %s: loaded weights differ at %s" % (os.path.basename(path), mode, diff[:3]))

    def refused_by_on(path, needle):
        r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + c.path("refused"),
                   "checkpoint_params.checkpoint_path=" + path, "checkpoint_params.strict_load=StrictLoad.ON"] + LOAD_ONLY)
        c.refused(r, "sg-train", needle)
        c.check(not os.path.exists(c.path("refused")), "a refused load left %s" % c.path("refused"))

    loads(full, "ON", list(weights))
    refused_by_on(nohead, "fc.weight")
    loads(nohead, "OFF", backbone)
    refused_by_on(renamed, "conv1.weight")
    loads(renamed, "NO_KEY_MATCHING", list(weights))


def test_load_checkpoint_test(c):
    """load_checkpoint_test: SG's transfer_weights (strict_load key_matching) loads every entry
    whose name and shape match and skips the rest: a 5-class checkpoint into a 10-class model
    loads the backbone and keeps the model's own head; the run's log names the skipped entries
    (SG skips them silently).
    Divergence (checkpoint_path URL): SG downloads an https:// checkpoint_path; we never use the
    network, so a URL is refused with one line naming it."""
    path, weights = c.python_weights(5, "five")
    fresh = c.train("fresh", *LOAD_ONLY)
    run = c.train("r", *LOAD_ONLY, "checkpoint_params.checkpoint_path=" + path, "checkpoint_params.strict_load=key_matching")
    if fresh and run:
        net, own = c.load(run, "ckpt_latest.pth")["net"], c.load(fresh, "ckpt_latest.pth")["net"]
        backbone = [k for k in net if not k.startswith("fc.")]
        diff = c.differing(net, weights, backbone)
        c.check(not diff, "key_matching: backbone differs at %s" % diff[:3])
        c.check(not c.differing(net, own, ["fc.weight", "fc.bias"]), "key_matching: the model's own head was replaced")
        log = c.log(run)
        c.check("strict_load=key_matching: %d of the model's %d entries loaded from %s, 2 kept as initialised"
                % (len(net) - 2, len(net), path) in log, "key_matching: the count of skipped entries in %r" % log[-800:])
        for key in ("fc.weight", "fc.bias"):
            c.check("skipped %s: model [10" % key in log, "key_matching: %s not named as skipped in the log" % key)
    url = "https://sghub.deci.ai/models/yolo_nas_s_coco.pth"
    r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + c.path("url"),
               "checkpoint_params.checkpoint_path=" + url] + LOAD_ONLY)
    c.refused(r, "sg-train", url)


def test_local_ckpt_head_replacement_test(c):
    """local_ckpt_head_replacement_test: a 5-class checkpoint trained here, loaded with
    checkpoint_num_classes=5 into a 10-class model: the backbone is the checkpoint's bit for
    bit, the head is a new 10-class one."""
    five = ["arch_params.num_classes=5", "dataset_params.synthetic.num_classes=5"]
    src = c.train("five", *five, *SG_STEP, "training_hyperparams.max_epochs=1")
    if not src:
        return
    trained = c.load(src, "ckpt_latest.pth")["net"]
    run = c.train("ten", *LOAD_ONLY, "checkpoint_params.checkpoint_path=" + os.path.join(src, "ckpt_latest.pth"),
                  "checkpoint_params.checkpoint_num_classes=5")
    if run:
        net = c.load(run, "ckpt_latest.pth")["net"]
        diff = c.differing(net, trained, [k for k in trained if not k.startswith("fc.")])
        c.check(not diff, "backbone differs from the checkpoint's at %s" % diff[:3])
        c.check(tuple(net["fc.weight"].shape) == (10, 64) and tuple(trained["fc.weight"].shape) == (5, 64),
                "head shapes %s <- %s" % (tuple(net["fc.weight"].shape), tuple(trained["fc.weight"].shape)))


# --- averaging, schedulers, loop limits -------------------------------------------------------

def test_test_model_weight_averaging(c):
    """test_model_weight_averaging: the average of one model is that model; a model whose
    watched metric is not finite is left out of the average (here: epoch 2's learning rate is
    multiplied by 1e30, its weights and validation loss become non-finite, so average_model.pth
    holds epoch 1's weights).
    Divergence (integer buffers): SG's average turns num_batches_tracked into a float; ours
    keeps its dtype (int64)."""
    run = c.train("single", "training_hyperparams.max_epochs=1")
    if run:
        avg, latest = c.load(run, "average_model.pth")["net"], c.load(run, "ckpt_latest.pth")["net"]
        diff = c.differing(avg, latest)
        c.check(not diff, "the average of one model differs from it at %s" % diff[:3])
        ints = {k: v.dtype for k, v in avg.items() if not v.is_floating_point()}
        c.check(ints and all(d == c.torch.int64 for d in ints.values()), "integer buffers %s" % ints)
    run = c.train("nan", "training_hyperparams.check_finite=False", *SG_STEP, "training_hyperparams.lr_decay_factor=1.0e30",
                  "training_hyperparams.metric_to_watch=Loss", "training_hyperparams.greater_metric_to_watch_is_better=False",
                  "training_hyperparams.save_ckpt_epoch_list=[1]")
    if run:
        loss = c.load(run, "ckpt_latest.pth")["metrics"]["valid"]["CrossEntropyLoss"]
        c.check(not math.isfinite(loss), "epoch 2's validation loss %s is finite: the case did not happen" % loss)
        diff = c.differing(c.load(run, "average_model.pth")["net"], c.load(run, "ckpt_epoch_1.pth")["net"])
        c.check(not diff, "the non-finite epoch entered the average (differs from epoch 1 at %s)" % diff[:3])


# (scheduler, torch_scheduler_params, epochs, SG's expected rate at the end); SG steps each at
# the end of an epoch (`phase: TRAIN_EPOCH_END`). ReduceLROnPlateau watches a metric that never
# improves by 1e9, as SG's constant DummyMetric never improves.
TORCH_SCHEDULERS = [
    ("StepLR", "{gamma: 0.1, step_size: 1}", 2, 0.001),
    ("MultiStepLR", "{milestones: [0, 1]}", 2, 0.001),
    ("ConstantLR", "{factor: 0.5, total_iters: 4}", 2, 0.05),
    ("CosineAnnealingLR", "{T_max: 3}", 2, 0.025),
    ("CosineAnnealingWarmRestarts", "{T_0: 2}", 4, 0.1),
    ("ExponentialLR", "{gamma: 0.01}", 4, 1e-09),
    ("LinearLR", "{}", 4, 0.08666666666666668),
    ("ReduceLROnPlateau", "{patience: 0, threshold: 1.0e9, threshold_mode: abs}", 2, 0.01),
]


def test_test_train_with_torch_scheduler(c):
    """test_train_with_torch_scheduler: each PyTorch scheduler SG tests ends at SG's rate, and a
    resumed StepLR / ReduceLROnPlateau run continues its schedule (0.0001, 0.001).
    Divergence (LambdaLR): its lr_lambda is a Python function, so it is refused with one line.
    Divergence (CyclicLR, OneCycleLR): they step after every batch, as PyTorch means them; SG's
    `phase` picks the moment and its test steps CyclicLR per epoch (0.01018 after 4 epochs); ours
    equals PyTorch's CyclicLR stepped once per batch (12 batches)."""
    def train(root, name, params, epochs, *extra):
        return c.train(root, "training_hyperparams.lr_mode=" + name, "training_hyperparams.torch_scheduler_params=" + params,
                       "training_hyperparams.max_epochs=%d" % epochs, "training_hyperparams.initial_lr=0.1",
                       "training_hyperparams.average_best_models=False", *extra, exp=name)

    for name, params, epochs, expected in TORCH_SCHEDULERS:
        run = train("rates", name, params, epochs)
        if run:
            c.check(abs(c.lr(run) - expected) <= 1e-8, "%s: rate %r, SG's %r" % (name, c.lr(run), expected))
    for name, params, expected in (("StepLR", "{gamma: 0.1, step_size: 1}", 0.0001),
                                   ("ReduceLROnPlateau", TORCH_SCHEDULERS[-1][1], 0.001)):
        run = train("resumed", name, params, 2)
        if run and train("resumed", name, params, 3, "resume=True") == run:
            c.check(abs(c.lr(run) - expected) <= 1e-8, "resumed %s: rate %r, SG's %r" % (name, c.lr(run), expected))

    r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + c.path("lambda"),
               "training_hyperparams.lr_mode=LambdaLR"])
    c.refused(r, "sg-train", "LambdaLR")
    run = train("cyclic", "CyclicLR", "{base_lr: 0.01, max_lr: 0.1}", 4)
    if run:
        torch = c.torch
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1)
        for _ in range(4 * 3):
            opt.step()
            sched.step()
        want = opt.param_groups[0]["lr"]
        c.check(abs(c.lr(run) - want) <= 1e-12, "CyclicLR: rate %r, PyTorch's per batch %r" % (c.lr(run), want))


def test_max_batches_loop_break_test(c):
    """max_batches_loop_break_test: max_train_batches=3 on 16 images in batches of 4 trains 3
    batches an epoch (Adam's step count after 2 epochs is 6); max_valid_batches=3 validates 3
    batches of 4 (sg-eval of the run, which validates as sg-train does, reports 3 batches and 12
    images and the metrics the checkpoint stores)."""
    run = c.train("train", "training_hyperparams.optimizer=Adam", "training_hyperparams.optimizer_params.momentum=0.0",
                  "dataset_params.synthetic.train_size=16", "dataset_params.train_dataloader_params.batch_size=4",
                  "training_hyperparams.max_train_batches=3")
    if run:
        steps = {float(s["step"]) for s in c.load(run, "ckpt_latest.pth")["optimizer_state_dict"]["state"].values()}
        c.check(steps == {6.0}, "Adam steps after 2 epochs of 3 batches: %s" % steps)
    run = c.train("valid", "dataset_params.synthetic.val_size=16", "dataset_params.val_dataloader_params.batch_size=4",
                  "training_hyperparams.max_valid_batches=3")
    if run:
        doc, _ = sgtest.run_json(c.checker, [c.args.eval, "--experiment-name", "e", "--ckpt-root-dir", c.path("valid"),
                                             "--json"], c.name + ": sg-eval")
        stored = c.load(run, "ckpt_latest.pth")["metrics"]["valid"]
        if doc:
            c.check(doc["batches"] == 3 and doc["samples"] == 12 and doc["metrics"] == stored,
                    "validation: %s batches, %s images, %s; stored %s" % (doc["batches"], doc["samples"], doc["metrics"], stored))


def test_test_mixed_precision_cpu(c):
    """test_mixed_precision_cpu: SG warns that mixed precision is not supported on the CPU and
    trains in float32: the same weights as mixed_precision=False, bit for bit, one warning line."""
    nets = {}
    for flag in ("True", "False"):
        root = c.path(flag)
        r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + root, "experiment_name=e",
                   "training_hyperparams.mixed_precision=" + flag])
        if not c.check(r.rc == 0, "mixed_precision=%s: %s" % (flag, r.describe())):
            return
        warnings = [line for line in r.err.splitlines() if "mixed_precision" in line and "warning" in line]
        c.check(len(warnings) == (1 if flag == "True" else 0), "mixed_precision=%s warnings: %r" % (flag, r.err))
        nets[flag] = c.load(c.runs(root, "e")[-1], "ckpt_latest.pth")["net"]
    c.check(not c.differing(nets["True"], nets["False"]),
            "float32 either way: %s differ" % c.differing(nets["True"], nets["False"]))


def test_test_without_train_test(c):
    """test_without_train_test: an untrained classification model evaluates to a dict of
    metrics (a fresh model from sg-model-template, through sg-eval --json; SG's detection and
    segmentation models are not in this toolkit).
    Divergence (random weights): SG's trainer.test evaluates whatever model it is handed; sg-eval
    never evaluates random weights, so a recipe without a checkpoint is refused with one line."""
    fresh = c.path("fresh.pth")
    r = c.run([c.args.template, "resnet_mini", "10", fresh])
    if not c.check(r.rc == 0, "sg-model-template: %s" % r.describe()):
        return
    doc, _ = sgtest.run_json(c.checker, [c.args.eval, "--config-name", "test_tiny", "checkpoint_params.checkpoint_path=" + fresh,
                                         "--json"], c.name + ": sg-eval of a fresh model")
    if doc:
        c.check(doc["epoch"] is None and set(doc["metrics"]) == {"Accuracy", "Top5", "CrossEntropyLoss"} and
                all(isinstance(v, float) for v in doc["metrics"].values()), "metrics of a fresh model: %s" % doc)
    c.refused(c.run([c.args.eval, "--config-name", "test_tiny"]), "sg-eval", "checkpoint_path")


def test_ema_train_integration_test(c):
    """ema_train_integration_test: training with EMA under the exp, threshold and constant decays
    validates the EMA model, not the trained net (sg-eval of ckpt_latest.pth with its ema_net
    reproduces the stored validation metrics) and keeps a separate ema_net.
    Divergence (old EMA parameters): SG 3.7 still maps `exp_activation` to the exp decay; the key
    is not ours, so it is refused with one line naming it."""
    for params in (["decay_type=exp", "beta=15", "decay=0.9999"], ["decay_type=threshold", "decay=0.9999"],
                   ["decay_type=constant", "decay=0.9999"]):
        exp = params[0].split("=")[1]
        run = c.train("r", "ema=True", "training_hyperparams.max_epochs=4", "training_hyperparams.lr_updates=[4]",
                      *SG_STEP[:1], *["training_hyperparams.ema_params." + p for p in params], exp=exp)
        if not run:
            continue
        latest = c.load(run, "ckpt_latest.pth")
        c.check(c.differing(latest["ema_net"], latest["net"]), "%s: ema_net equals net" % exp)
        doc, _ = sgtest.run_json(c.checker, [c.args.eval, "--experiment-name", exp, "--ckpt-root-dir", c.path("r"), "--json"],
                                 c.name + ": sg-eval " + exp)
        if doc:
            c.check(doc["weights"] == "ema_net" and doc["metrics"] == latest["metrics"]["valid"],
                    "%s: validation did not use the EMA model: %s vs stored %s" % (exp, doc["metrics"], latest["metrics"]["valid"]))
    r = c.run([c.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + c.path("old"), "ema=True",
               "training_hyperparams.ema_params.exp_activation=True"])
    c.refused(r, "sg-train", "ema_params.exp_activation")


CASES = [test_resume_training_test, test_load_ema_ckpt_test, test_save_ckpt_test, test_strictload_enum_test,
         test_load_checkpoint_test, test_local_ckpt_head_replacement_test, test_test_model_weight_averaging,
         test_test_train_with_torch_scheduler, test_max_batches_loop_break_test, test_test_mixed_precision_cpu,
         test_test_without_train_test, test_ema_train_integration_test, test_trainer_test, test_cifar_trainer_test]


def main():
    args = sgtest.parse_args(__doc__, paths=("train", "resume", "eval", "adapt", "template"),
                             extra=lambda p: p.add_argument("-k", dest="only", default="", help="run the cases whose name holds this"))
    torch = sgtest.import_torch()
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("sg_checkpoint_tests")
    for case in CASES:
        if args.only not in case.__name__:
            continue
        before = len(checker.failures)
        status = "ok"
        try:
            case(Case(args, checker, torch, case.__name__))
        except Skip as e:
            status = "SKIP: " + str(e)
        if len(checker.failures) > before:
            status = "FAILED"
        print("%s: %s" % (case.__name__, status), flush=True)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
