"""SuperGradients' vit_base, ours against SG's ViT re-expressed in plain PyTorch
(sg_ref_vit.py), and its arch_params through sg-train.

1. Through `sg_model_dump` (test_model_parity.check_arch): the same state dict keys, order,
   shapes and dtypes, and the same eval-mode logits in both directions, at SG's defaults
   (image_size 224, patch_size 16) on 64x64 and 32x32 inputs (SG adds only the first
   n + 1 position embeddings). Python's weights have random LayerNorm scales and shifts,
   so that swapped or misplaced norms show. vit_large and vit_huge are the same code with
   other sizes (300M and 630M parameters: too large for this test).
2. sg-train (test_tiny's data, one batch) with architecture=vit_base and arch_params
   image_size 8, patch_size 4, dropout_prob and emb_dropout_prob 0.1: the checkpoint's net
   loads strictly into SG's ViT built with those values, whose layout it matches.
3. Refused with one line, exit 2, nothing written: a non-square or malformed image_size pair, an
   image_size that is not a multiple of patch_size, a fractional patch_size, an out-of-range
   dropout_prob, and backbone_mode (SG's ViTBase never reads it from arch_params).
"""

import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

import sg_ref_vit  # noqa: E402
import test_model_parity as parity  # noqa: E402


def python_model(arch):
    return sg_ref_vit.ViT(arch, parity.NUM_CLASSES)


def small_input(arch):
    return torch.randn(2, 3, 32, 32)


def random_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.2)


SMALL = ["+arch_params.image_size=8", "+arch_params.patch_size=4", "+arch_params.dropout_prob=0.1",
         "+arch_params.emb_dropout_prob=0.1"]


def train_cmd(args, root, overrides):
    return [args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + root, "architecture=vit_base",
            "~arch_params.droppath_prob",
            "training_hyperparams.max_epochs=1", "training_hyperparams.max_train_batches=1",
            "training_hyperparams.max_valid_batches=1", "training_hyperparams.average_best_models=False",
            "training_hyperparams.save_ckpt_epoch_list=[]"] + overrides


def check_training(c, args):
    root = os.path.join(args.workdir, "runs")
    r = sgtest.run(train_cmd(args, root, SMALL), timeout=400)
    if not c.check(r.rc == 0, "sg-train vit_base with %s: %s" % (SMALL, r.describe())):
        return
    latest = glob.glob(os.path.join(root, "*", "RUN_*", "ckpt_latest.pth"))
    if not c.check(len(latest) == 1, "one ckpt_latest.pth: %s" % latest):
        return
    net = torch.load(latest[0], map_location="cpu")["net"]
    ref = sg_ref_vit.ViT("vit_base", 10, image_size=8, patch_size=4, dropout_prob=0.1, emb_dropout_prob=0.1)
    if parity.compare_layout(c, "vit_base (sg-train)", net, ref.state_dict()):
        ref.load_state_dict(net, strict=True)
        c.eq(tuple(net["pos_embedding"].shape), (1, 5, 768), "pos_embedding for image_size 8, patch_size 4")
    shutil.rmtree(root)  # over 1 GB of checkpoints


REFUSED = [
    (["+arch_params.image_size=[8,6]"], "arch_params.image_size: not square (only square sizes are implemented)"),
    (["+arch_params.image_size=[8,8,8]"], "arch_params.image_size: expected a number or a [height, width] pair"),
    (["+arch_params.image_size=10", "+arch_params.patch_size=4"],
     "arch_params.image_size: 10 is not a multiple of arch_params.patch_size 4"),
    (["+arch_params.patch_size=2.5"], "arch_params.patch_size: must be a whole number"),
    (["+arch_params.dropout_prob=1.5"], "arch_params.dropout_prob: 1.5 is outside [0, 1]"),
    (["+arch_params.backbone_mode=True"], "arch_params.backbone_mode: not a parameter of architecture 'vit_base'"),
]


def check_refusals(c, args):
    for i, (overrides, message) in enumerate(REFUSED):
        root = os.path.join(args.workdir, "refused_%d" % i)
        r = sgtest.run(train_cmd(args, root, overrides), timeout=120)
        errors = [line for line in r.err.splitlines() if "error:" in line]
        c.check(r.rc == 2, "%s: exit %s, expected 2: %s" % (overrides, r.rc, r.err))
        c.check(len(errors) == 1 and message in errors[0], "%s: expected one line with %r: %r" % (overrides, message, r.err))
        c.eq(glob.glob(os.path.join(root, "**", "*.pth"), recursive=True), [], "%s: checkpoints written" % overrides)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump", "train"))
    sgtest.fresh_dir(args.workdir)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c = sgtest.Checker("test_model_parity_vit")
    parity.check_arch(c, args, "vit_base", args.verbose, make_model=python_model, make_input=small_input,
                      prepare=random_norms)
    check_training(c, args)
    check_refusals(c, args)
    c.report()


if __name__ == "__main__":
    main()
