"""SG's CollateMixup: our mixed images and soft targets equal SG's, given the same draws.

SG's collate step (super_gradients.training.datasets.mixup: the batch/elem paths, its box
functions with correct_lam and cutmix_minmax, mixup_target's smoothed two-hot targets) is
re-expressed below in plain PyTorch/numpy, with its random calls (torch.rand, Beta.sample,
np.random.randint) answered from the draws `sg_mixup_dump` reports for our own batch. Both
sides mix the same batch; images and targets must agree to 1e-6. The draws themselves must
come from SG's distributions (Beta(alpha, alpha) moments), and parameters SG lacks or we
refuse are one-line errors naming the key, from sg_mixup_dump and from sg-train on SG's
imagenet_resnet50 recipe (checked where SG's recipe folder is present).
"""

import os

import numpy as np

import sgtest

TARGET = "super_gradients.training.datasets.mixup.CollateMixup"


class Draws:
    """SG's np.random.randint calls for its boxes, answered in SG's order from our draws."""

    def __init__(self, draws, minmax):
        self.ints = []
        for d in draws:
            if d["has_box"]:
                self.ints += (list(d["box_size"]) if minmax else []) + list(d["box_at"])

    def randint(self, lo, hi):
        v = self.ints.pop(0)
        assert lo <= v < hi, "randint draw %d outside [%d, %d)" % (v, lo, hi)
        return v


def one_hot(torch, labels, classes, on, off):
    return torch.full((labels.numel(), classes), off).scatter_(1, labels.long().view(-1, 1), on)


def soft_targets(torch, labels, classes, lam, smoothing):
    off = smoothing / classes
    on = 1.0 - smoothing + off
    first = one_hot(torch, labels, classes, on, off)
    second = one_hot(torch, labels.flip(0), classes, on, off)
    return first * lam + second * (1.0 - lam)


def box_and_lam(shape, lam, minmax, correct_lam, randint):
    """SG's cutmix_bbox_and_lam over rand_bbox (margin 0) or rand_bbox_minmax."""
    h, w = shape[-2:]
    if minmax is not None:
        cut_h = randint(int(h * minmax[0]), int(h * minmax[1]))
        cut_w = randint(int(w * minmax[0]), int(w * minmax[1]))
        top, left = randint(0, h - cut_h), randint(0, w - cut_w)
        box = (top, top + cut_h, left, left + cut_w)
    else:
        ratio = np.sqrt(1 - lam)
        cut_h, cut_w = int(h * ratio), int(w * ratio)
        cy, cx = randint(0, h), randint(0, w)
        box = (np.clip(cy - cut_h // 2, 0, h), np.clip(cy + cut_h // 2, 0, h),
               np.clip(cx - cut_w // 2, 0, w), np.clip(cx + cut_w // 2, 0, w))
    if correct_lam or minmax is not None:
        lam = 1.0 - (box[1] - box[0]) * (box[3] - box[2]) / float(h * w)
    return box, lam


def sg_collate(torch, p, images, labels, draws):
    """SG's CollateMixup.__call__ for modes batch and elem; `p` holds its parameters."""
    n = len(images)
    mixup_alpha = p["mixup_alpha"]
    cutmix_alpha = 1.0 if p["cutmix_minmax"] is not None else p["cutmix_alpha"]
    source = Draws(draws, p["cutmix_minmax"] is not None)
    output = torch.zeros(images.shape, dtype=torch.float32)
    if p["mode"] == "batch":
        d = draws[0]
        lam, use_cutmix = 1.0, False
        if torch.tensor([d["apply_u"]], dtype=torch.float64) < p["prob"]:
            if mixup_alpha > 0 and cutmix_alpha > 0:
                use_cutmix = bool(torch.tensor([d["switch_u"]], dtype=torch.float64) < p["switch_prob"])
            elif cutmix_alpha > 0:
                use_cutmix = True
            lam = float(torch.tensor(d["lam"], dtype=torch.float32))   # Beta(...).sample()
        if use_cutmix:
            box, lam = box_and_lam(output.shape, lam, p["cutmix_minmax"], p["correct_lam"], source.randint)
        for i in range(n):
            j = n - i - 1
            mixed = images[i]
            if lam != 1.0:
                if use_cutmix:
                    mixed = torch.clone(mixed)
                    mixed[:, box[0]:box[1], box[2]:box[3]] = images[j][:, box[0]:box[1], box[2]:box[3]]
                else:
                    mixed = mixed * lam + images[j] * (1 - lam)
            output[i] += mixed
    else:
        lam_batch = torch.ones(n, dtype=torch.float32)
        use_cutmix = torch.zeros(n, dtype=torch.bool)
        drawn = torch.tensor([d["lam"] for d in draws], dtype=torch.float32)   # the Beta samples
        if mixup_alpha > 0 and cutmix_alpha > 0:
            use_cutmix = torch.tensor([d["switch_u"] for d in draws], dtype=torch.float64) < p["switch_prob"]
        elif cutmix_alpha > 0:
            use_cutmix = torch.ones(n, dtype=torch.bool)
        applied = torch.tensor([d["apply_u"] for d in draws], dtype=torch.float64) < p["prob"]
        lam_batch = torch.where(applied, drawn, lam_batch)
        for i in range(n):
            j = n - i - 1
            lam = lam_batch[i]
            mixed = images[i]
            if lam != 1.0:
                if use_cutmix[i]:
                    mixed = torch.clone(mixed)
                    box, lam = box_and_lam(output.shape, lam, p["cutmix_minmax"], p["correct_lam"], source.randint)
                    mixed[:, box[0]:box[1], box[2]:box[3]] = images[j][:, box[0]:box[1], box[2]:box[3]]
                    lam_batch[i] = lam
                else:
                    mixed = mixed * lam + images[j] * (1 - lam)
            output[i] += mixed
        lam = lam_batch.clone().unsqueeze(1)   # SG: torch.tensor(lam_batch), the same copy
    assert not source.ints, "box draws left over"
    return output, soft_targets(torch, labels.to(torch.int32), p["num_classes"], lam, p["label_smoothing"])


SG_DEFAULTS = dict(mixup_alpha=1.0, cutmix_alpha=0.0, cutmix_minmax=None, prob=1.0, switch_prob=0.5, mode="batch",
                   correct_lam=True, label_smoothing=0.1, num_classes=1000)


def yaml_of(params):
    def value(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(str(x) for x in v) + "]"
        return str(v)
    return "{" + ", ".join("%s: %s" % (k, value(v)) for k, v in params.items()) + "}"


class Case:
    def __init__(self, args, torch, checker, work):
        self.args, self.torch, self.checker, self.work = args, torch, checker, work
        self.count = 0

    def dump(self, collate_fn, batches, seed, epoch):
        """`batches`: [(index, images, labels)]; returns the run and, if it wrote them, our results."""
        self.count += 1
        src = os.path.join(self.work, "in_%d.pth" % self.count)
        out = os.path.join(self.work, "out_%d.pth" % self.count)
        self.torch.save({"batches": [{"index": b, "images": x, "labels": y} for b, x, y in batches]}, src)
        r = sgtest.run([self.args.dump, collate_fn, src, str(seed), str(epoch), out])
        return r, (self.torch.load(out)["batches"] if r.rc == 0 else None)

    def compare(self, label, params, written, n=8, classes=10, batches=range(12), hw=(11, 13)):
        """`written`: the collate_fn as the recipe writes it; `params`: SG's values it means."""
        torch = self.torch
        p = dict(SG_DEFAULTS, **params)
        g = torch.Generator().manual_seed(len(label))
        given = [(b, torch.randn(n, 3, hw[0], hw[1], generator=g), torch.randint(0, classes, (n,), generator=g))
                 for b in batches]
        r, results = self.dump(written, given, 7, 3)
        if not self.checker.check(r.rc == 0, "%s: sg_mixup_dump failed: %s" % (label, r.err)):
            return set()
        seen = set()
        for (b, images, labels), ours in zip(given, results):
            want_images, want_targets = sg_collate(torch, p, images, labels, ours["draws"])
            for what, got, want in (("images", ours["images"], want_images), ("targets", ours["targets"], want_targets)):
                diff = float((got - want).abs().max())
                self.checker.check(got.shape == want.shape and diff <= 1e-6,
                                   "%s, batch %d: %s differ from SG's by %g" % (label, b, what, diff))
            self.checker.check(bool(torch.allclose(ours["targets"].sum(1), torch.ones(n), atol=1e-5)),
                               "%s, batch %d: targets do not sum to 1" % (label, b))
            for d in ours["draws"]:
                seen.add("box" if d["has_box"] else ("blend" if d["lam"] != 1.0 else "none"))
        return seen


def check_forms(case):
    """The forms SG's factory and Hydra accept, and the refusals."""
    torch, checker = case.torch, case.checker
    batch = [(0, torch.randn(4, 1, 5, 5), torch.tensor([0, 1, 2, 3]))]
    for written in ("CollateMixup", "{CollateMixup: {label_smoothing: 0.1}}", "{_target_: %s}" % TARGET):
        r, results = case.dump(written, batch, 1, 0)
        if checker.check(r.rc == 0, "%s: %s" % (written, r.err)):
            checker.eq(tuple(results[0]["targets"].shape), (4, 1000), "%s: SG's default num_classes" % written)
    refusals = [
        ("{_target_: %s, mode: pair}" % TARGET, "collate_fn.mode: 'pair' not implemented here"),
        ("{_target_: %s, mode: half}" % TARGET, "collate_fn.mode: 'half' not implemented here"),
        ("{_target_: %s, mode: other}" % TARGET, "collate_fn.mode: unknown mode 'other'"),
        ("{_target_: %s, mixup_alpha: 0.2, mixp: 1}" % TARGET, "collate_fn.mixp: not a parameter of SG's CollateMixup"),
        ("{_target_: %s, mixup_alpha: 0, cutmix_alpha: 0}" % TARGET, "collate_fn.mixup_alpha: one of"),
        ("{_target_: %s, prob: 1.5}" % TARGET, "collate_fn.prob: must be in [0, 1]"),
        ("{_target_: %s, cutmix_minmax: [0.8, 0.2]}" % TARGET, "collate_fn.cutmix_minmax:"),
        ("{CollateMixup: {}, Other: {}}", "collate_fn: expected a collate function"),
        ("Mixup", "collate_fn: 'Mixup' is not a collate function known here"),
        ("{_target_: %s, num_classes: 3}" % TARGET, "CollateMixup: a label outside 0..2"),
    ]
    for written, expected in refusals:
        r, _ = case.dump(written, batch, 1, 0)
        lines = [l for l in r.err.splitlines() if l.strip()]
        checker.check(r.rc == 2 and len(lines) == 1 and expected in lines[0],
                      "%s: expected one line with %r, got exit %s: %r" % (written, expected, r.rc, r.err))
    r, _ = case.dump("CollateMixup", [(0, torch.randn(3, 1, 5, 5), torch.tensor([0, 1, 2]))], 1, 0)
    checker.check(r.rc == 2 and "needs an even batch size" in r.err, "odd batch: %s %r" % (r.rc, r.err))


def check_distribution(case):
    """Mode elem over one large batch: lam follows Beta(alpha, alpha), the switch switch_prob."""
    torch, checker = case.torch, case.checker
    n = 4000
    batch = [(0, torch.zeros(n, 1, 2, 2), torch.zeros(n, dtype=torch.int64))]
    for alpha in (0.2, 1.0):
        r, results = case.dump("{_target_: %s, mixup_alpha: %s, mode: elem, num_classes: 2}" % (TARGET, alpha),
                               batch, 5, 0)
        if not checker.check(r.rc == 0, "Beta(%s): %s" % (alpha, r.err)):
            continue
        lams = np.array([d["lam"] for d in results[0]["draws"]])
        mean, var = lams.mean(), lams.var()
        want_var = 1.0 / (4 * (2 * alpha + 1))
        checker.check(abs(mean - 0.5) < 0.02 and abs(var - want_var) < 0.08 * want_var,
                      "Beta(%s): mean %.4f, variance %.4f (want 0.5, %.4f)" % (alpha, mean, var, want_var))
    r, results = case.dump("{_target_: %s, mixup_alpha: 0.2, cutmix_alpha: 1.0, switch_prob: 0.3, prob: 0.6, mode: elem, "
                       "num_classes: 2}" % TARGET, batch, 5, 0)
    if checker.check(r.rc == 0, "switch: %s" % r.err):
        draws = results[0]["draws"]
        applied = np.mean([d["apply_u"] < 0.6 for d in draws])
        switched = np.mean([d["switch_u"] < 0.3 for d in draws])
        checker.check(abs(applied - 0.6) < 0.03 and abs(switched - 0.3) < 0.03,
                      "prob 0.6 / switch_prob 0.3: %.3f / %.3f" % (applied, switched))


def check_recipe_refusals(args, checker, work):
    """sg-train on SG's imagenet_resnet50 (one process): what does not fit is refused before any work."""
    if not os.path.isfile(os.path.join(args.sg_recipes, "imagenet_resnet50.yaml")):
        print("SG's recipe folder %s is absent: sg-train refusals not checked" % args.sg_recipes)
        return
    base = [args.train, "--config-dir", args.sg_recipes, "--config-name", "imagenet_resnet50", "multi_gpu=Off",
            "num_gpus=1", "ckpt_root_dir=" + os.path.join(work, "runs")]
    loader = "dataset_params.train_dataloader_params."
    cases = [
        (["arch_params.num_classes=3"], "collate_fn: num_classes 1000"),
        (["+" + loader + "collate_fn.mode=pair"], loader + "collate_fn.mode: 'pair' not implemented here"),
        ([loader + "collate_fn.mixup_alpha=-1"], loader + "collate_fn.mixup_alpha: must be"),
        (["batch_size=5"], loader + "batch_size: 5 is odd"),
        (["+dataset_params.val_dataloader_params.collate_fn=CollateMixup"],
         "dataset_params.val_dataloader_params.collate_fn: not implemented here"),
    ]
    for extra, expected in cases:
        r = sgtest.run(base + extra, timeout=120)
        lines = [l for l in r.err.splitlines() if "error:" in l]
        checker.check(r.rc == 2 and len(lines) == 1 and expected in lines[0],
                      "sg-train %s: expected exit 2 and one line with %r, got %s: %r" % (extra, expected, r.rc, r.err))
    checker.check(not os.path.exists(os.path.join(work, "runs")) or not any(
        f.endswith(".pth") for _, _, files in os.walk(os.path.join(work, "runs")) for f in files),
        "checkpoints written by refused runs")


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump", "train", "sg-recipes"))
    torch = sgtest.import_torch()
    checker = sgtest.Checker("test_sg_mixup")
    work = sgtest.fresh_dir(args.workdir)
    case = Case(args, torch, checker, work)

    recipe = dict(mixup_alpha=0.2, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=10)
    written = "{_target_: %s, mixup_alpha: 0.2, cutmix_alpha: 1.0, label_smoothing: 0.1, num_classes: 10}" % TARGET
    seen = case.compare("imagenet_resnet50's parameters", recipe, written, batches=range(40))
    checker.check(seen == {"box", "blend"} or seen == {"box", "blend", "none"},
                  "the recipe's batches should see both cutmix and mixup: %s" % seen)
    variants = [
        ("mode elem", dict(recipe, mode="elem")),
        ("cutmix_minmax", dict(recipe, cutmix_minmax=[0.2, 0.8])),
        ("cutmix_minmax, mode elem", dict(recipe, cutmix_minmax=[0.2, 0.8], mode="elem")),
        ("prob 0.5, switch_prob 0.8, no correct_lam", dict(recipe, prob=0.5, switch_prob=0.8, correct_lam=False)),
        ("no correct_lam, mode elem", dict(recipe, correct_lam=False, mode="elem", prob=0.7)),
        ("mixup only, smoothing 0", dict(mixup_alpha=0.4, label_smoothing=0.0, num_classes=5)),
        ("cutmix only", dict(mixup_alpha=0.0, cutmix_alpha=0.5, num_classes=5)),
        ("cutmix only, mode elem", dict(mixup_alpha=0.0, cutmix_alpha=0.5, num_classes=5, mode="elem")),
    ]
    for label, params in variants:
        case.compare(label, params, "{CollateMixup: %s}" % yaml_of(params), classes=params["num_classes"])
    case.compare("SG's defaults, one class more than labelled", {}, "CollateMixup", classes=999, batches=range(3))
    check_forms(case)
    check_distribution(case)
    check_recipe_refusals(args, checker, work)
    checker.report()


if __name__ == "__main__":
    main()
