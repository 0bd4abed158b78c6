"""SG's own recipe on the user's own image folder: images made here by PIL.

SG's cifar10_resnet recipe (../shared/sg-recipes, unchanged) is pointed at ImageFolder trees
as an SG user would do it with Hydra overrides (SG's imagenet_train/imagenet_val dataloaders,
the CIFAR-only keys removed, roots and transform lists given), then:
  - it trains and learns (accuracy on the validation folder well above chance),
  - 1 and 3 loader workers give bit-identical checkpoints,
  - the validation batches of SG's imagenet_resnet50 recipe (Resize 236, CenterCrop 224,
    ToTensor, Normalize), as sg-train's DataLoader gives them with 3 workers, equal those of
    torchvision's ImageFolder + DataLoader with the same transforms: the same order, labels
    and tensors (within 1/255 per pixel before Normalize),
  - SG's RandAugmentTransform in the training list trains,
  - a truncated JPEG, a root without class folders and a transform that is not implemented
    (AutoAugment) stop the run with one line naming the file or the transform, and write no
    checkpoint; SG's imagenet_resnet50 recipe gets past its transform list (RandAugmentTransform)
    and its collate_fn (SG's CollateMixup), and stops at multi_gpu: DDP, saying how to start
    it with torchrun.
Skipped (exit 0, with a message) where SG's recipe folder is absent.
"""

import glob
import os
import shutil
import sys

import sgtest


def make_folder(root, per_class, seed):
    """30..48 px JPEGs and PNGs, and a text file per class that ImageFolder does not list."""
    sgtest.make_class_folder(root, per_class, seed, sizes=(30, 48), dots=40, formats=("jpg", "png"), stray_text=True)


TRAIN_TRANSFORMS = "[{RandomResizedCrop: {size: 32, scale: [0.5, 1.0]}}, RandomHorizontalFlip, %sToTensor, " \
                   "{Normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}]"


def folder_overrides(train_root, val_root, ckpt_root, extra_transform=""):
    return [
        "ckpt_root_dir=" + ckpt_root, "architecture=resnet_mini", "batch_size=16", "val_batch_size=30",
        "train_dataloader=imagenet_train", "val_dataloader=imagenet_val",
        "~dataset_params.train_dataset_params.train", "~dataset_params.train_dataset_params.download",
        "~dataset_params.val_dataset_params.train", "~dataset_params.val_dataset_params.download",
        "dataset_params.train_dataset_params.root=" + train_root,
        "dataset_params.val_dataset_params.root=" + val_root,
        "dataset_params.train_dataset_params.transforms=" + TRAIN_TRANSFORMS % extra_transform,
        "dataset_params.val_dataset_params.transforms=[{Resize: {size: 32}}, {CenterCrop: {size: 32}}, ToTensor, "
        "{Normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}]",
        "+training_hyperparams.num_threads=1",
    ]


IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]   # imagenet_dataset_params.yaml


def check_val_loader(checker, args, torch, work, train_root, val_root):
    out = os.path.join(work, "val_batches.pth")
    r = sgtest.run([args.loader_dump, "val", "0", "1000", out, args.sg_recipes, "imagenet_resnet50",
                    "multi_gpu=Off", "num_gpus=1", "val_batch_size=16", "num_workers=3",
                    "dataset_params.train_dataset_params.root=" + train_root,
                    "dataset_params.val_dataset_params.root=" + val_root], timeout=300)
    if not checker.check(r.rc == 0, "imagenet_resnet50 validation loader: exit %s: %s" % (r.rc, r.err)):
        return
    ours = torch.load(out)
    import torchvision
    import torchvision.transforms as T
    tv = torchvision.datasets.ImageFolder(val_root, transform=T.Compose([
        T.Resize(236), T.CenterCrop(224), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))
    theirs = list(torch.utils.data.DataLoader(tv, batch_size=16, shuffle=False, num_workers=0))
    checker.eq(len(ours["images"]), len(theirs), "validation batches")
    checker.eq(ours["num_classes"], len(tv.classes), "classes")
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    worst = 0.0
    for k, (images, labels) in enumerate(zip(ours["images"], ours["labels"])):
        if k >= len(theirs):
            break
        checker.check(torch.equal(labels, theirs[k][1]), "validation batch %d: labels" % k)
        if checker.eq(list(images.shape), list(theirs[k][0].shape), "validation batch %d: shape" % k):
            worst = max(worst, float(((images - theirs[k][0]) * std).abs().max()))
    checker.check(worst <= 1 / 255 + 1e-6, "validation images differ from torchvision's by %.5f (> 1/255)" % worst)
    if args.verbose:
        print("validation loader: largest difference from torchvision's %.6f (1/255 = %.6f)" % (worst, 1 / 255))


def one_line_error(checker, result, needle, what):
    """Progress lines may come first (the run starts before a bad file is met); the error is
    one line, the last."""
    errors = [line for line in result.err.splitlines() if "error:" in line]
    checker.check(result.rc not in (0, None), "%s: exit %s" % (what, result.rc))
    checker.check(len(errors) == 1 and result.err.strip().splitlines()[-1] == errors[0],
                  "%s: expected one error line, last, got %r" % (what, result.err))
    checker.check(needle in "".join(errors), "%s: %r not named in %r" % (what, needle, result.err))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "loader-dump", "sg-recipes"))
    torch = sgtest.import_torch()
    if not os.path.isfile(os.path.join(args.sg_recipes, "variable_setup.yaml")):
        print("SKIP: SG's recipe folder %s is absent" % args.sg_recipes)
        return
    checker = sgtest.Checker("test_sg_image_folder")
    work = sgtest.fresh_dir(args.workdir)
    train_root, val_root = os.path.join(work, "train"), os.path.join(work, "val")
    make_folder(train_root, 60, 1)
    make_folder(val_root, 30, 2)
    base = [args.train, "--config-dir", args.sg_recipes, "--config-name", "cifar10_resnet"]

    # It trains and learns.
    ckpts = os.path.join(work, "runs")
    r = sgtest.run(base + folder_overrides(train_root, val_root, ckpts) + ["epochs=3"], timeout=500)
    if checker.check(r.rc == 0, "training on the folder: exit %s: %s" % (r.rc, r.err)):
        checker.check("180 training and 90 validation images" in r.err, "image counts: " + r.err)
        best = glob.glob(os.path.join(ckpts, "*", "RUN_*", "ckpt_best.pth"))
        if checker.check(len(best) == 1, "one ckpt_best.pth: %s" % best):
            acc = float(torch.load(best[0], map_location="cpu")["acc"])
            checker.check(acc > 0.6, "validation accuracy %.3f, chance is 0.333" % acc)

    # 1 and 3 workers: the same checkpoint, tensor for tensor.
    nets = []
    for workers in (1, 3):
        root = os.path.join(work, "workers_%d" % workers)
        r = sgtest.run(base + folder_overrides(train_root, val_root, root) +
                       ["epochs=1", "num_workers=%d" % workers, "training_hyperparams.max_train_batches=5"],
                       timeout=300)
        latest = glob.glob(os.path.join(root, "*", "RUN_*", "ckpt_latest.pth"))
        if checker.check(r.rc == 0 and len(latest) == 1, "%d workers: exit %s: %s" % (workers, r.rc, r.err)):
            nets.append(torch.load(latest[0], map_location="cpu")["net"])
    if len(nets) == 2:
        checker.eq(list(nets[0]), list(nets[1]), "keys with 1 and 3 workers")
        for key in nets[0]:
            checker.check(torch.equal(nets[0][key], nets[1][key]), "%s differs between 1 and 3 workers" % key)

    check_val_loader(checker, args, torch, work, train_root, val_root)

    # A truncated JPEG: one line naming it, no checkpoint.
    broken = os.path.join(work, "broken")
    shutil.copytree(train_root, broken)
    victim = os.path.join(broken, "class_1", "004.jpg")
    with open(victim, "r+b") as f:
        f.truncate(os.path.getsize(victim) // 2)
    root = os.path.join(work, "broken_runs")
    r = sgtest.run(base + folder_overrides(broken, val_root, root) + ["epochs=1"], timeout=300)
    one_line_error(checker, r, victim, "truncated JPEG")
    checker.eq(glob.glob(os.path.join(root, "*", "RUN_*", "*.pth")), [], "checkpoints after the truncated JPEG")

    # A root without class folders.
    empty = sgtest.fresh_dir(os.path.join(work, "empty"))
    r = sgtest.run(base + folder_overrides(empty, val_root, os.path.join(work, "empty_runs")) + ["epochs=1"], timeout=120)
    one_line_error(checker, r, empty, "root without classes")

    # SG's RandAugmentTransform trains; AutoAugment is not implemented.
    root = os.path.join(work, "randaug_runs")
    randaug = "{RandAugmentTransform: {config_str: rand-m9-mstd0.5, crop_size: 32, img_mean: [0.485, 0.456, 0.406]}}, "
    r = sgtest.run(base + folder_overrides(train_root, val_root, root, randaug) +
                   ["epochs=1", "training_hyperparams.max_train_batches=3"], timeout=300)
    checker.check(r.rc == 0 and len(glob.glob(os.path.join(root, "*", "RUN_*", "ckpt_latest.pth"))) == 1,
                  "RandAugmentTransform: exit %s: %s" % (r.rc, r.err))
    root = os.path.join(work, "autoaugment_runs")
    r = sgtest.run(base + folder_overrides(train_root, val_root, root, "{AutoAugment: {}}, ") + ["epochs=1"],
                   timeout=120)
    one_line_error(checker, r, "transforms[2] AutoAugment: not implemented", "AutoAugment")
    checker.eq(glob.glob(os.path.join(root, "*", "RUN_*", "*.pth")), [], "checkpoints after AutoAugment")

    checker.report()


if __name__ == "__main__":
    main()
