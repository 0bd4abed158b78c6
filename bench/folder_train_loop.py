#!/usr/bin/python3
"""The Python side of `scripts/bench-train --folder` (run that for the comparison): training
on an image folder with SG's ImageNet recipe (imagenet_resnet50 with SG's base ImageNet
dataset params), as a plain PyTorch loop written the way a careful Python user would, and
timed.

Same as the `sg-train --config-name imagenet_resnet50 ...` run that the script makes:
  - data: torchvision's datasets.ImageFolder + DataLoader (shuffled, --batch-size, the last
    batch kept, --workers worker processes, persistent); per image RandomResizedCrop 224
    (bilinear, scale 0.08-1, ratio 3/4-4/3), RandomHorizontalFlip, ToTensor, Normalize with
    the recipe's ImageNet mean/std;
  - model: torchvision's twin of SG's --arch (TWINS below: resnet50 has SG's ResNet-50
    layout; the others are torchvision's nearest model, not SG's), --classes outputs;
  - SGD as SG builds it from the recipe: momentum 0.9, weight decay 1e-4 except on biases and
    BatchNorm (zero_weight_decay_on_bias_and_bn), lr 0.1 / 6 (the first epoch of its 5-epoch
    linear warm-up); cross-entropy;
  - per step, like our trainer: loss.item(), Accuracy and Top5 from one topk;
  - torch.set_num_threads(--threads) in the training process.

Timing: --warmup batches first, then --batches timed ones, all in one epoch. Prints on stdout
one line
    model=M images_per_s=X data_fraction=Y images_per_s_all=X2 data_fraction_all=Y2 seconds=S
the first two over the timed batches only, the `_all` ones over warm-up + timed batches from
the first request of a batch (sg-train's convention). data_fraction is the share of the time
spent waiting for the next batch from the DataLoader (the workers decode while the model
trains; only what is not ready in time counts).
"""

import argparse
import sys

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T

from step_meter import StepMeter

# SG's dataset_params/imagenet_dataset_params.yaml and training_hyperparams/imagenet_resnet50_train_params.yaml
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
LR, MOMENTUM, WEIGHT_DECAY = 0.1 / 6, 0.9, 1e-4

# SG's architecture name -> (torchvision's model, how it relates to ours)
TWINS = {
    "resnet50": ("resnet50", "same layout"),
    "resnet18": ("resnet18", "same layout"),
    "resnet34": ("resnet34", "same layout"),
    "mobilenet_v2": ("mobilenet_v2", "same layout"),
    "mobilenet_v3_small": ("mobilenet_v3_small", "torchvision's MobileNetV3-Small, not SG's code"),
    "mobilenet_v3_large": ("mobilenet_v3_large", "torchvision's MobileNetV3-Large, not SG's code"),
    "regnetY200": ("regnet_y_400mf", "not the same model: torchvision has no RegNetY-200MF, 2x its FLOPs"),
    "regnetY400": ("regnet_y_400mf", "torchvision's RegNetY-400MF, not SG's code"),
    "regnetY800": ("regnet_y_800mf", "torchvision's RegNetY-800MF, not SG's code"),
}


def param_groups(model):
    """SG's zero_weight_decay_on_bias_and_bn: no decay on biases and BatchNorm weights."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            bn = isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
            (no_decay if bn or name == "bias" else decay).append(p)
    return [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="the ImageFolder to train on")
    p.add_argument("--arch", default="resnet50", help="SG's architecture name, one of TWINS (default resnet50)")
    p.add_argument("--classes", type=int, required=True, help="outputs of the model")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--batches", type=int, default=8, help="timed batches (default 8)")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches first (default 2)")
    a = p.parse_args()
    if min(a.classes, a.batch_size, a.threads, a.batches) < 1 or a.workers < 0 or a.warmup < 0:
        p.error("--classes, --batch-size, --threads and --batches must be positive, --workers and --warmup not negative")
    if a.arch not in TWINS:
        p.error("--arch: no torchvision twin for '%s' (known: %s)" % (a.arch, ", ".join(TWINS)))
    twin = TWINS[a.arch][0]

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tf = T.Compose([T.RandomResizedCrop(224, interpolation=T.InterpolationMode.BILINEAR), T.RandomHorizontalFlip(),
                    T.ToTensor(), T.Normalize(MEAN, STD)])
    ds = torchvision.datasets.ImageFolder(a.root, transform=tf)
    total = a.warmup + a.batches
    batches_per_epoch = (len(ds) + a.batch_size - 1) // a.batch_size
    if total > batches_per_epoch:
        sys.exit("folder_train_loop: --warmup + --batches (%d) exceed the %d batches of one epoch of %s"
                 % (total, batches_per_epoch, a.root))
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=a.workers,
                                         drop_last=False, persistent_workers=a.workers > 0)

    model = getattr(torchvision.models, twin)(num_classes=a.classes)
    model.train()
    opt = torch.optim.SGD(param_groups(model), lr=LR, momentum=MOMENTUM)
    meter = StepMeter(a.warmup, k=min(5, a.classes))
    batches = iter(loader)   # starts the workers; the clock starts at the first request, as in sg-train
    opt.zero_grad()
    for step in range(total):
        asked = meter.begin(step)
        x, y = next(batches)
        meter.data_done(step, asked)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        meter.step_done(step, logits, y, loss.item())

    sys.stderr.write("folder_train_loop: %s, %d+%d batches of %d, %d workers, %d threads: %s\n" % (
        twin, a.warmup, a.batches, a.batch_size, a.workers, torch.get_num_threads(), meter.metrics()))
    print("model=%s %s" % (twin, meter.result_line()))


if __name__ == "__main__":
    main()
