#!/usr/bin/python3
"""The Python side of scripts/bench-train (run that for the comparison): the default recipe
(recipes/fashion_mnist_resnet.yaml) as a plain PyTorch training loop, written the way a
careful Python user would, and timed.

Same as `sg-train epochs=1 training_hyperparams.max_train_batches=...`:
  - data: Fashion-MNIST read from the same gzipped IDX files (gzip + numpy), shuffled per
    epoch, batch 128; per batch, vectorised torch ops in the loop: random crop with zero
    padding PAD, 0 as the recipe has it (one gather for the whole batch), horizontal flip (after the crop), ToTensor +
    Normalize(0.2860, 0.3530);
  - model: MiniResNet (test/python/sg_models.py, resnet_mini's twin), torchvision init;
  - SGD lr per step from the same schedule (cosine per step, no warm-up, as the recipe), momentum 0.9,
    nesterov, weight decay 5e-4 on every parameter; cross-entropy with label smoothing 0.1;
  - per step, like our trainer: loss.item(), Accuracy and Top5 from one topk(5);
  - torch.set_num_threads(--threads).

bench/ddp_train_loop.py runs this loop (train()) as torchrun's workers under
DistributedDataParallel, each on its DistributedSampler-style shard (Batches' rank, world).

Timing: --warmup batches first, then --batches timed ones. Prints on stdout one line
    images_per_s=X data_fraction=Y images_per_s_all=X2 data_fraction_all=Y2 seconds=S
the first two over the timed batches only, the `_all` ones over warm-up + timed batches
from the start of the loop (sg-train's convention: its epoch line counts every batch).
data_fraction is the share of the time spent preparing batches (indexing, augmentation,
normalisation); the model never overlaps with it here (no loader workers).
"""

import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from fashion_mnist import MEAN, ROOT, SEED, SMOOTHING, STD, load  # noqa: E402
from sg_models import MiniResNet, torchvision_init_  # noqa: E402
from step_meter import StepMeter  # noqa: E402

# recipes/fashion_mnist_resnet.yaml + dataset_params/fashion_mnist_dataset_params.yaml
BATCH = 128
PAD = 0  # crop_padding 0 (flips only)
INITIAL_LR, FINAL_RATIO = 0.1, 0.01  # CosineLRScheduler, no warm-up
MOMENTUM, WEIGHT_DECAY = 0.9, 5e-4


def lr_at(epoch, batch, batches, max_epochs):
    """lib/sg/src/optim/lr_schedule.cpp's LrSchedule::at for the recipe's CosineLRScheduler."""
    total = max(1, max_epochs * batches)
    done = epoch * batches + batch
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, done / total)))
    return INITIAL_LR * (FINAL_RATIO + (1.0 - FINAL_RATIO) * cosine)


class Batches:
    """Shuffled, augmented, normalised batches, built per batch with vectorised torch ops."""

    def __init__(self, images, labels, batch_size, generator, rank=0, world=1):
        self.images = images            # (N, 1, H, W) uint8
        self.labels = labels            # (N,) int64
        self.batch_size = batch_size
        self.g = generator
        self.rank, self.world = rank, world
        shard = -(-images.shape[0] // world)
        self.per_epoch = -(-shard // batch_size)
        h, w = images.shape[2:]
        self.rows = torch.arange(h)
        self.cols = torch.arange(w)
        self.cols_flipped = self.cols.flip(0)
        self.order = None

    def start_epoch(self):
        """Every worker draws the same permutation and, as DistributedSampler, pads it with its
        own head to a multiple of the workers and takes every world-th sample from its rank."""
        order = torch.randperm(self.images.shape[0], generator=self.g)
        if self.world > 1:
            pad = -order.numel() % self.world
            order = torch.cat([order, order[:pad]])[self.rank::self.world]
        self.order = order

    def get(self, b):
        idx = self.order[b * self.batch_size:(b + 1) * self.batch_size]
        n = idx.numel()
        x = F.pad(self.images[idx], (PAD, PAD, PAD, PAD))            # (n, 1, H+2p, W+2p), zeros
        oy = torch.randint(0, 2 * PAD + 1, (n, 1), generator=self.g)
        ox = torch.randint(0, 2 * PAD + 1, (n, 1), generator=self.g)
        flip = torch.rand(n, 1, generator=self.g) < 0.5
        rows = oy + self.rows                                         # (n, H)
        cols = ox + torch.where(flip, self.cols_flipped, self.cols)   # (n, W): flip after the crop
        x = x[torch.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]]  # (n, H, W)
        x = x.unsqueeze(1).float().div_(255.0).sub_(MEAN).div_(STD)
        return x, self.labels[idx]


def arguments(description):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, default=200, help="timed batches (default 200)")
    p.add_argument("--warmup", type=int, default=5, help="untimed batches first (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--root", default=ROOT, help="folder of the Fashion-MNIST .gz files")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels_last")
    return p


def parse(parser):
    a = parser.parse_args()
    if a.batches < 1 or a.warmup < 0 or a.threads < 1:
        parser.error("--batches and --threads must be positive, --warmup not negative")
    return a


def train(a, rank=0, world=1, wrap=lambda model: model):
    """The training loop of the arguments `a` on shard `rank` of `world`, the model wrapped
    by `wrap` (DistributedDataParallel) before the optimizer sees it; returns its StepMeter."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(SEED)
    images, labels = load(a.root, "train")                            # (N, 1, 28, 28) uint8
    data = Batches(images, labels, BATCH, torch.Generator().manual_seed(SEED), rank, world)

    model = torchvision_init_(MiniResNet(num_classes=10, in_channels=1))
    memory_format = torch.channels_last if a.channels_last else torch.contiguous_format
    model = wrap(model.to(memory_format=memory_format))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=INITIAL_LR, momentum=MOMENTUM, nesterov=True,
                          weight_decay=WEIGHT_DECAY)

    total = a.warmup + a.batches
    batches_per_epoch = data.per_epoch
    max_epochs = 1
    meter = StepMeter(a.warmup)
    epoch, b = 0, 0
    data.start_epoch()
    opt.zero_grad()
    for step in range(total):
        t0 = meter.begin(step)
        if b == batches_per_epoch:                                   # only past one epoch
            epoch, b = epoch + 1, 0
            data.start_epoch()
            t0 = time.perf_counter()
        x, y = data.get(b)
        x = x.contiguous(memory_format=memory_format)
        meter.data_done(step, t0)
        lr = lr_at(epoch, b, batches_per_epoch, max_epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=SMOOTHING)
        loss.backward()
        opt.step()
        opt.zero_grad()
        meter.step_done(step, logits, y, loss.item())
        b += 1
    return meter


def main():
    a = parse(arguments(__doc__))
    meter = train(a)
    sys.stderr.write("train_loop: %d+%d batches, %d threads: %s\n" % (
        a.warmup, a.batches, torch.get_num_threads(), meter.metrics()))
    print(meter.result_line())


if __name__ == "__main__":
    main()
