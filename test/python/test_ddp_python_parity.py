"""sg-train as torchrun's two workers against Python's DistributedDataParallel (Gloo).

Python's torch.nn.parallel.DistributedDataParallel (Debian's torch 1.13, two Gloo ranks under
torchrun), given the same model, initial weights and sample order, must reach the weights of
sg-train's 2-worker run within 1e-5 (relative) after several optimizer steps. How:

  1. Python builds resnet_mini's twin (MiniResNet, sg_models.py) with a fixed seed and saves
     it as {"net": state_dict}: the initial weights of both runs
     (checkpoint_params.checkpoint_path, strict_load=on).
  2. sg-train trains the test_tiny recipe (synthetic 8x8 images, SGD momentum 0.9, weight
     decay 1e-4 on every parameter: zero_weight_decay_on_bias_and_bn is False there) as 2
     torchrun workers, batch 8 per worker, EPOCHS epochs of BATCHES batches, at a constant
     learning rate (StepLRScheduler whose only milestone is past the run), without EMA.
  3. The sample order: sg_loader_dump writes each epoch's batches of the unsharded loader at
     batch 16 (2 x 8). Each worker takes every 2nd sample of the epoch's permutation
     (DistributedSampler's sharding; 64 samples, no padding), so rank r's batch b is the
     unsharded batch b taken [r::2]. The dumps are checked to be one fixed set of samples
     (no random augmentation) in a different order each epoch (shuffled).
  4. This script, started by torchrun with --ddp-reference, is the reference: each rank wraps
     MiniResNet in DistributedDataParallel (its defaults: gradients averaged, rank 0's
     buffers broadcast before each forward), trains with torch.optim.SGD (the same lr,
     momentum, weight decay, one param group) and F.cross_entropy in train mode, one step
     per batch of its [r::2] share; rank 0 saves its state dict.
  5. ckpt_latest.pth's `net` (torch.load) must equal it: the same keys in the same order,
     every floating tensor within 1e-5 (max |diff| / max |value|), num_batches_tracked equal.
     The check can tell: the weights moved from the initial ones by more than 1e-3, and the
     same reference fed contiguous halves ([r*8:(r+1)*8]) instead of every 2nd sample
     differs from our run by more than 1e-3.
"""

import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

WORLD = 2
PER_RANK = 8          # batch size per worker
EPOCHS = 3
BATCHES = 3           # test_tiny's max_train_batches: 3 steps per epoch
TRAIN_SIZE = 64       # test_tiny's: 4 batches of 2 x 8, a multiple of WORLD (no padding)
NUM_CLASSES, CHANNELS = 10, 3
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 1e-4
SEED = 1234           # of the initial weights
TOL = 1e-5
MUST_DIFFER = 1e-3
LAYOUTS = ("strided", "halves")   # the reference's shares: every 2nd sample (DistributedSampler's), contiguous halves

# The recipe of both sg-train and sg_loader_dump (the loader's batch size aside).
RECIPE = ["--config-name", "test_tiny"]
OVERRIDES = ["epochs=%d" % EPOCHS, "training_hyperparams.max_train_batches=%d" % BATCHES,
             "dataset_params.synthetic.train_size=%d" % TRAIN_SIZE,
             "training_hyperparams.initial_lr=%r" % LR, "training_hyperparams.lr_mode=StepLRScheduler",
             "training_hyperparams.lr_updates=[100]", "training_hyperparams.lr_warmup_epochs=0",
             "training_hyperparams.optimizer=SGD", "training_hyperparams.optimizer_params.momentum=%r" % MOMENTUM,
             "training_hyperparams.optimizer_params.weight_decay=%r" % WEIGHT_DECAY,
             "training_hyperparams.zero_weight_decay_on_bias_and_bn=False",
             "training_hyperparams.ema=False", "training_hyperparams.average_best_models=False",
             "training_hyperparams.batch_accumulate=1", "training_hyperparams.clip_grad_norm=null",
             "training_hyperparams.mixed_precision=False"]


def mini_resnet():
    from sg_models import MiniResNet   # needs torchvision
    return MiniResNet(num_classes=NUM_CLASSES, in_channels=CHANNELS)


def share(batch, rank, layout):
    if layout == "strided":
        return batch[rank::WORLD]
    return batch[rank * PER_RANK:(rank + 1) * PER_RANK]


def ddp_reference(work):
    """One rank of the reference (run by torchrun): DDP training from work/init.pth on the
    dumped epochs, once per layout; rank 0 writes work/ddp_<layout>.pth."""
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)   # as test_tiny's num_threads
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    assert dist.get_world_size() == WORLD, dist.get_world_size()
    init = torch.load(os.path.join(work, "init.pth"))["net"]
    epochs = [torch.load(os.path.join(work, "epoch%d.pth" % e)) for e in range(EPOCHS)]
    for layout in LAYOUTS:
        model = mini_resnet()
        model.load_state_dict(init, strict=True)
        ddp = DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        ddp.train()
        for epoch in epochs:
            for images, labels in list(zip(epoch["images"], epoch["labels"]))[:BATCHES]:
                opt.zero_grad()
                loss = F.cross_entropy(ddp(share(images, rank, layout)), share(labels, rank, layout))
                loss.backward()
                opt.step()
        if rank == 0:
            torch.save(model.state_dict(), os.path.join(work, "ddp_%s.pth" % layout))
        dist.barrier()
    dist.destroy_process_group()


def largest_relative_difference(got, want, integers=True):
    """max |got - want| / max |want| over the floating tensors (as test_ddp_train.py's); inf
    if an integer one (num_batches_tracked) differs, unless `integers` is False."""
    worst = 0.0
    for key, w in want.items():
        if w.is_floating_point():
            diff = float((got[key].double() - w.double()).abs().max()) if w.numel() else 0.0
            worst = max(worst, diff / max(float(w.abs().max()) if w.numel() else 0.0, 1e-12))
        elif integers and not torch.equal(got[key], w):
            worst = float("inf")
    return worst


def make_initial_weights(path):
    torch.manual_seed(SEED)
    from sg_models import torchvision_init_
    model = torchvision_init_(mini_resnet())
    with torch.no_grad():   # BatchNorm away from 1/0 and its statistics away from 0/1, so they all matter
        for name, t in model.state_dict().items():
            if name.endswith(("bn1.weight", "bn2.weight", "downsample.1.weight", "running_var")):
                t.uniform_(0.5, 1.5)
            elif name.endswith(("bn1.bias", "bn2.bias", "downsample.1.bias", "running_mean")):
                t.uniform_(-0.2, 0.2)
    state = model.state_dict()
    torch.save({"net": state}, path)
    return {k: v.clone() for k, v in state.items()}


def dump_epochs(c, args, work):
    """Epochs 0..EPOCHS-1 of the unsharded loader at batch 2 x PER_RANK: work/epoch<E>.pth,
    whole (max_train_batches cuts the loader too), so that each is seen to be a permutation."""
    docs = []
    for e in range(EPOCHS):
        out = os.path.join(work, "epoch%d.pth" % e)
        r = sgtest.run([args.loader_dump, "train", str(e), str(TRAIN_SIZE // (WORLD * PER_RANK)), out, args.recipes,
                        "test_tiny"] + [o for o in OVERRIDES if not o.startswith("training_hyperparams.max_train_batches=")] +
                       ["training_hyperparams.max_train_batches=null",
                        "dataset_params.train_dataloader_params.batch_size=%d" % (WORLD * PER_RANK)],
                       timeout=120)
        if not c.check(r.rc == 0, "sg_loader_dump epoch %d: %s" % (e, r.describe())):
            return False
        docs.append(torch.load(out))
    for e, d in enumerate(docs):
        shapes = [(tuple(i.shape), i.dtype, tuple(l.shape), l.dtype) for i, l in zip(d["images"], d["labels"])]
        want = [((WORLD * PER_RANK, CHANNELS, 8, 8), torch.float32, (WORLD * PER_RANK,), torch.int64)] * (
            TRAIN_SIZE // (WORLD * PER_RANK))
        if not c.eq([str(s) for s in shapes], [str(s) for s in want], "epoch %d: the dumped batches (shape, dtype)" % e):
            return False
    rows = [torch.cat(d["images"]).reshape(TRAIN_SIZE, -1) for d in docs]
    labels = [torch.cat(d["labels"]) for d in docs]

    def as_set(x, y):
        return sorted((int(label),) + tuple(v.tolist()) for v, label in zip(x, y))

    first = as_set(rows[0], labels[0])
    c.check(len(set(first)) == TRAIN_SIZE, "epoch 0: %d distinct samples of %d" % (len(set(first)), TRAIN_SIZE))
    for e in range(1, EPOCHS):
        c.check(as_set(rows[e], labels[e]) == first,
                "epoch %d holds other samples than epoch 0: the samples are not fixed (random augmentation?)" % e)
        c.check(not torch.equal(rows[e], rows[0]), "epoch %d is in epoch 0's order: the loader does not shuffle" % e)
    return True


def train_ours(c, args, work, init_path):
    root = os.path.join(work, "runs")
    cmd = sgtest.torchrun_command(WORLD, args.train, ["--config-dir", args.recipes] + RECIPE + OVERRIDES + [
        "dataset_params.train_dataloader_params.batch_size=%d" % PER_RANK, "ckpt_root_dir=" + root,
        "experiment_name=parity", "checkpoint_params.checkpoint_path=" + init_path, "checkpoint_params.strict_load=on"])
    r = sgtest.run(cmd, timeout=240)
    if not c.check(r.rc == 0, "sg-train as %d torchrun workers: %s" % (WORLD, r.describe())):
        return None
    c.check("rank 0 of %d " % WORLD in r.err, "sg-train: the log should say rank 0 of %d: %s" % (
        WORLD, sgtest.short(r.err, 600)))
    dirs = sorted(glob.glob(os.path.join(root, "parity", "RUN_*")))
    if not c.check(len(dirs) == 1, "sg-train: one run directory, got %s" % dirs):
        return None
    ckpt = torch.load(os.path.join(dirs[0], "ckpt_latest.pth"), map_location="cpu")
    c.eq(ckpt["epoch"], EPOCHS, "ckpt_latest.pth: epoch")
    return ckpt["net"]


def run_reference(c, work):
    cmd = sgtest.torchrun_command(WORLD, os.path.abspath(__file__), ["--ddp-reference", work], python=True)
    r = sgtest.run(cmd, timeout=240)
    if not c.check(r.rc == 0, "Python DDP reference (torchrun, %d Gloo ranks): %s" % (WORLD, r.describe())):
        return None
    return {layout: torch.load(os.path.join(work, "ddp_%s.pth" % layout)) for layout in LAYOUTS}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--ddp-reference":
        return ddp_reference(sys.argv[2])
    args = sgtest.parse_args(__doc__.splitlines()[0], need_inspect=False, paths=("train", "loader-dump", "recipes"))
    work = sgtest.fresh_dir(os.path.abspath(args.workdir))
    args.recipes = os.path.abspath(args.recipes)
    c = sgtest.Checker("test_ddp_python_parity")
    init_path = os.path.join(work, "init.pth")
    initial = make_initial_weights(init_path)
    if not dump_epochs(c, args, work):
        c.report()
    ours = train_ours(c, args, work, init_path)
    reference = run_reference(c, work)
    if ours is None or reference is None:
        c.report()
    want = reference["strided"]
    c.eq(list(ours), list(want), "keys of our net and of Python DDP's state dict (in order)")
    if set(ours) != set(want):
        c.report()
    for key, w in want.items():
        got = ours[key]
        if not c.check(got.dtype == w.dtype and got.shape == w.shape, "%s: ours %s %s, Python DDP's %s %s" % (
                key, got.dtype, tuple(got.shape), w.dtype, tuple(w.shape))):
            continue
        if w.is_floating_point():
            d = largest_relative_difference({key: got}, {key: w})
            c.check(d <= TOL, "%s: ours differs from Python DDP's by %g (relative; at most %g)" % (key, d, TOL))
        else:
            c.check(torch.equal(got, w), "%s: ours %s, Python DDP's %s" % (key, got.tolist(), w.tolist()))
    parity = largest_relative_difference(ours, want)
    moved = largest_relative_difference(want, initial, integers=False)
    halves = largest_relative_difference(ours, reference["halves"])
    c.check(moved > MUST_DIFFER, "the weights moved from the initial ones by %g only: the comparison proves nothing" % moved)
    c.check(halves > MUST_DIFFER, "Python DDP fed contiguous halves is as close to our run (%g) as that fed every "
                                  "2nd sample (%g): the check cannot tell the sample order" % (halves, parity))
    print("largest relative difference, ours vs Python DDP: %g; vs the initial weights: %g; "
          "vs Python DDP fed contiguous halves: %g" % (parity, moved, halves))
    c.report()


if __name__ == "__main__":
    main()
