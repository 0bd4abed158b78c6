"""Each of SG's classification recipes, unchanged, on a small image folder made here by PIL.

Every recipe is run as an SG user would point it at their own images: only the roots (and
the run folder) are given, plus a short run (one epoch of two batches of four). Each one
either trains (a ckpt_latest.pth whose classifier has the recipe's classes) or stops with
exactly one error line naming the one thing not supported, before any checkpoint is
written: the table below is the README's "SuperGradients' own recipes" status table.
SG's DDP recipes (`multi_gpu: DDP`, `num_gpus: N`) make sg-train start N workers itself:
those with 2 run unchanged; of those with 4 or 8, imagenet_resnet50 runs with `num_gpus=2`
(2 cores here), and each also runs as one process (`multi_gpu=Off num_gpus=1`).
Skipped (exit 0, with a message) where SG's recipe folder is absent.
"""

import glob
import os

import sgtest

# recipe -> (extra overrides, None if it trains, else the text its one error line holds)
STATUS = {
    "imagenet_resnet50 (2 workers)": (["num_gpus=2"], None),
    "imagenet_resnet50 (one process)": (["multi_gpu=Off", "num_gpus=1"], None),
    "imagenet_mobilenetv2": ([], None),
    "imagenet_mobilenetv2 (one process)": (["multi_gpu=Off", "num_gpus=1"], None),
    "imagenet_regnetY": ([], None),
    "imagenet_efficientnet (one process)": (["multi_gpu=Off", "num_gpus=1"], None),
    "imagenet_repvgg (one process)": (["multi_gpu=Off", "num_gpus=1"], None),
    "imagenet_repvgg (SE blocks)": (["multi_gpu=Off", "num_gpus=1", "arch_params.use_se=True"],
                                    "arch_params.use_se: True (squeeze-and-excitation blocks are not implemented)"),
    "imagenet_vit_base (one process)": (["multi_gpu=Off", "num_gpus=1"], "vit_base_imagenet21k.pth not found (the model zoo is"),
    "imagenet_vit_base (not square)": (["multi_gpu=Off", "num_gpus=1", "arch_params.image_size=[224, 192]"],
                                       "arch_params.image_size: not square (only square sizes are implemented)"),
    "imagenet_mobilenetv3_small": ([], None),
    "imagenet_mobilenetv3_large (one process)": (["multi_gpu=Off", "num_gpus=1"], None),
    "imagenet_mobilenetv3_large (other dropout)": (["multi_gpu=Off", "num_gpus=1", "arch_params.dropout=0.3"],
                                                   "arch_params.dropout: 0.3 is not implemented, only 0.2"),
    "imagenet_mobilenetv3_large (custom table)": (["multi_gpu=Off", "num_gpus=1", "arch_params.structure=[[3, 1, 16, 0, 0, 1]]"],
                                                  "arch_params.structure: only the table of the architecture is implemented"),
    "imagenet_resnet50_kd": ([], "_target_ 'super_gradients.training.losses.label_smoothing_cross_entropy_loss"),
    "user_recipe_mnist_example": ([], "'Mnist'"),
}


def make_folder(root, per_class, seed):
    """120..200 px JPEGs (SG's ImageNet recipes crop 224)."""
    sgtest.make_class_folder(root, per_class, seed, sizes=(120, 200), dots=200)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "sg-recipes"))
    torch = sgtest.import_torch()
    if not os.path.isfile(os.path.join(args.sg_recipes, "variable_setup.yaml")):
        print("SKIP: SG's recipe folder %s is absent" % args.sg_recipes)
        return
    checker = sgtest.Checker("test_sg_recipe_status")
    work = sgtest.fresh_dir(args.workdir)
    train_root, val_root = os.path.join(work, "train"), os.path.join(work, "val")
    make_folder(train_root, 8, 1)
    make_folder(val_root, 4, 2)
    for label, (extra, stops_at) in STATUS.items():
        recipe = label.split(" ")[0]
        runs = os.path.join(work, "runs", label.replace(" ", "_").strip("()"))
        cmd = ["--config-dir", args.sg_recipes, "--config-name", recipe, "ckpt_root_dir=" + runs,
               "dataset_params.train_dataset_params.root=" + train_root,
               "dataset_params.val_dataset_params.root=" + val_root,
               "epochs=1", "batch_size=4", "val_batch_size=4", "num_workers=1",
               "training_hyperparams.max_train_batches=2", "training_hyperparams.max_valid_batches=1"] + extra
        cmd = [args.train] + cmd
        r = sgtest.run(cmd, timeout=400)
        checkpoints = glob.glob(os.path.join(runs, "**", "*.pth"), recursive=True)
        if stops_at is None:
            if not checker.check(r.rc == 0, "%s: expected to train, exit %s: %s" % (label, r.rc, r.err)):
                continue
            latest = glob.glob(os.path.join(runs, "*", "RUN_*", "ckpt_latest.pth"))
            if checker.check(len(latest) == 1, "%s: one ckpt_latest.pth: %s" % (label, latest)):
                got = torch.load(latest[0], map_location="cpu")
                checker.check(got["epoch"] == 1, "%s: epoch %s" % (label, got["epoch"]))
        else:
            errors = [line for line in r.err.splitlines() if "error:" in line]
            checker.check(r.rc == 2, "%s: exit %s, expected 2: %s" % (label, r.rc, r.err))
            checker.check(len(errors) == 1 and stops_at in errors[0],
                          "%s: expected one error line with %r, got %r" % (label, stops_at, r.err))
            checker.eq(checkpoints, [], "%s: checkpoints written before the stop" % label)
    checker.report()


if __name__ == "__main__":
    main()
