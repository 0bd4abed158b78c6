#!/usr/bin/python3
"""The Python side of scripts/bench-eval (run that for the comparison): what
`sg-eval --config-name fashion_mnist_resnet checkpoint_params.checkpoint_path=FILE` does, as a
plain PyTorch evaluation loop written the way a careful Python user would, and timed.

  - data: the Fashion-MNIST test set (10,000 images; --split train: the 60,000 training
    images) read from the same gzipped IDX files (gzip + numpy), in order, batch --batch-size (the recipe's validation batch, 512);
    per batch ToTensor + Normalize(0.2860, 0.3530) as our loader computes it:
    (v/255 - mean)/std in float32;
  - model: MiniResNet (test/python/sg_models.py, resnet_mini's twin) with the checkpoint's
    plain state dict loaded strictly; eval mode, torch.no_grad();
  - per batch, like sg's validate(): cross-entropy with label smoothing 0.1 and .item(),
    Accuracy and Top5 from one topk(5);
  - torch.set_num_threads(--threads).

Timing, as sg-eval's `seconds` (lib/sg/src/eval/evaluator.cpp): from before the first batch is
built to after the last batch's metrics, so per-batch data preparation (slicing,
normalisation) counts; reading the files and loading the model come before and do not.

  --save-checkpoint PATH [--train-steps K]: instead, write a checkpoint for the benchmark: a
  MiniResNet with torchvision's init (seed 42), then K plain SGD steps (batch 128, lr 0.05,
  momentum 0.9) on the first K*128 training images so that its predictions are not all one
  class, saved as a plain state dict (torch.save(model.state_dict(), PATH)).

Prints on stdout one line
    images_per_s=X seconds=S samples=N accuracy=A top5=T loss=L
(accuracy and top5 with every digit, for an exact comparison with sg-eval's JSON).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from fashion_mnist import MEAN, ROOT, SEED, SMOOTHING, STD, load  # noqa: E402
from sg_models import MiniResNet, torchvision_init_  # noqa: E402

VAL_BATCH = 512  # recipes/dataset_params/fashion_mnist_dataset_params.yaml


def normalise(x):
    """uint8 -> float32 (v/255 - mean)/std, the arithmetic of our loader's lookup table."""
    return x.float().div_(255.0).sub_(MEAN).div_(STD)


def save_checkpoint(path, steps, root):
    torch.manual_seed(SEED)
    model = torchvision_init_(MiniResNet(num_classes=10, in_channels=1))
    if steps > 0:
        images, labels = load(root, "train")
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        model.train()
        for s in range(steps):
            x, y = normalise(images[s * 128:(s + 1) * 128]), labels[s * 128:(s + 1) * 128]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    torch.save(model.state_dict(), path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="plain state dict of MiniResNet to evaluate")
    p.add_argument("--batch-size", type=int, default=VAL_BATCH, help="validation batch (default 512)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--split", choices=("t10k", "train"), default="t10k",
                   help="the images to evaluate: t10k (test set, default) or train")
    p.add_argument("--root", default=ROOT, help="folder of the Fashion-MNIST .gz files")
    p.add_argument("--save-checkpoint", metavar="PATH", help="write the benchmark's checkpoint to PATH and exit")
    p.add_argument("--train-steps", type=int, default=20, help="with --save-checkpoint: SGD steps (default 20)")
    a = p.parse_args()
    if a.batch_size < 1 or a.threads < 1 or a.train_steps < 0:
        p.error("--batch-size and --threads must be positive, --train-steps not negative")
    torch.set_num_threads(a.threads)
    if a.save_checkpoint:
        save_checkpoint(a.save_checkpoint, a.train_steps, a.root)
        return
    if not a.checkpoint:
        p.error("give --checkpoint FILE (or --save-checkpoint PATH)")

    # Input, untimed (sg-eval reads the data and the checkpoint before its clock starts).
    images, labels = load(a.root, a.split)
    model = MiniResNet(num_classes=10, in_channels=1)
    model.load_state_dict(torch.load(a.checkpoint, map_location="cpu"), strict=True)
    model.eval()

    top1 = top5 = samples = 0
    loss_sum = 0.0
    start = time.perf_counter()
    with torch.no_grad():
        for b in range(0, images.shape[0], a.batch_size):
            x = normalise(images[b:b + a.batch_size])
            y = labels[b:b + a.batch_size]
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=SMOOTHING).item()
            hits = logits.topk(min(5, logits.shape[1]), 1).indices.eq(y.view(-1, 1))
            top1 += hits[:, 0].sum().item()
            top5 += hits.any(1).sum().item()
            n = y.numel()
            loss_sum += loss * n
            samples += n
    seconds = time.perf_counter() - start

    print("images_per_s=%.1f seconds=%.4f samples=%d accuracy=%.17g top5=%.17g loss=%.17g" % (
        samples / seconds, seconds, samples, top1 / samples, top5 / samples, loss_sum / samples))


if __name__ == "__main__":
    main()
