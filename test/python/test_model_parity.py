"""Our C++ models against Python's: same state dict keys, order, shapes and dtypes, and the
same eval-mode logits for the same weights and input, in both directions.

  - resnet18/34/50 against torchvision 0.14's models,
  - resnet18_cifar against a reference class written here with SuperGradients' names
    (super_gradients/training/models/classification_models/resnet.py: CifarResNet with
    BasicResNetBlock, block shortcut `shortcut`, head `linear`),
  - resnet_mini against its Python twin (MiniResNet in sg_models.py, shared with
    bench/train_loop.py), the model of the default recipe.

For each: `sg_model_dump ARCH N ours.pth` writes our fresh model's state dict, an input and
our logits; the Python model must load it strict=True and give the same logits (1e-4).
Then Python-made random weights (BN running stats randomised too) go the other way with
`sg_model_dump --load`, and our logits must equal Python's. A state dict with a missing,
extra or misshaped key must be refused (exit 1).
"""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

try:
    import torchvision  # noqa: E402
except Exception as e:  # pragma: no cover - environment problem
    sys.stderr.write("FAIL: %s cannot import torchvision (%s); install python3-torchvision\n"
                     % (sys.executable, e))
    sys.exit(1)

from sg_models import MiniResNet  # noqa: E402  (needs torchvision: imported after the check)

TOL = 1e-4
NUM_CLASSES = 7


# --- Python references for the models torchvision does not have ------------------------

class SGBasicResNetBlock(nn.Module):
    """SG's BasicResNetBlock (droppath 0: its DropPath holds no state)."""

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.drop_path = nn.Identity()
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.drop_path(out)
        out = out + self.shortcut(x)
        return F.relu(out)


class SGCifarResNet(nn.Module):
    """SG's CifarResNet(BasicResNetBlock, [2, 2, 2, 2]) = ResNet18Cifar."""

    def __init__(self, num_blocks=(2, 2, 2, 2), num_classes=10, in_channels=3):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, num_blocks[0], 1)
        self.layer2 = self._make_layer(128, num_blocks[1], 2)
        self.layer3 = self._make_layer(256, num_blocks[2], 2)
        self.layer4 = self._make_layer(512, num_blocks[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(512, num_classes)

    def _make_layer(self, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(SGBasicResNetBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = self.avgpool(out)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def python_model(arch):
    if arch in ("resnet18", "resnet34", "resnet50"):
        return getattr(torchvision.models, arch)(num_classes=NUM_CLASSES)
    if arch == "resnet18_cifar":
        return SGCifarResNet(num_classes=NUM_CLASSES)
    if arch == "resnet_mini":
        return MiniResNet(num_classes=NUM_CLASSES)
    raise ValueError(arch)


def input_for(arch):
    side = {"resnet18_cifar": 32, "resnet_mini": 28}.get(arch, 64)
    return torch.randn(2, 1 if arch == "resnet_mini" else 3, side, side)


# --- checks -----------------------------------------------------------------------------

def compare_layout(c, arch, ours, ref):
    c.check(type(ours) is collections.OrderedDict,
            "%s: our state_dict is %s, expected OrderedDict" % (arch, type(ours).__name__))
    ko, kr = list(ours.keys()), list(ref.keys())
    if not c.check(ko == kr, "%s: keys differ: %d ours vs %d Python; first difference at %s" % (
            arch, len(ko), len(kr),
            next(("#%d %r vs %r" % (i, a, b) for i, (a, b) in enumerate(zip(ko, kr)) if a != b),
                 "the end"))):
        missing = [k for k in kr if k not in ours]
        extra = [k for k in ko if k not in ref]
        c.fail("%s: missing %s; unexpected %s" % (arch, missing[:10], extra[:10]))
        return False
    ok = True
    for k in kr:
        a, b = ours[k], ref[k]
        ok &= c.check(tuple(a.shape) == tuple(b.shape),
                      "%s: %s shape %s, Python %s" % (arch, k, tuple(a.shape), tuple(b.shape)))
        ok &= c.check(a.dtype == b.dtype, "%s: %s dtype %s, Python %s" % (arch, k, a.dtype, b.dtype))
    return ok


def close(c, what, got, want):
    if not c.check(tuple(got.shape) == tuple(want.shape),
                   "%s: logits shape %s, expected %s" % (what, tuple(got.shape), tuple(want.shape))):
        return
    diff = (got.double() - want.double()).abs().max().item()
    c.check(diff <= TOL, "%s: logits differ by %.3g (> %g); max |logit| %.3g" % (
        what, diff, TOL, want.abs().max().item()))
    return diff


def randomise(model, seed):
    """Random weights *and* BN statistics so that every buffer matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                # Scales below 1 keep deep models' logits O(1), where 1e-4 is meaningful.
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.25)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.2)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(seed)


def check_arch(c, args, arch, verbose):
    wd = args.workdir
    ours_path = os.path.join(wd, arch + "_ours.pth")
    r = sgtest.run([args.dump, arch, str(NUM_CLASSES), ours_path], timeout=120)
    if not c.check(r.rc == 0, "%s: dump failed: %s" % (arch, r.describe())):
        return
    doc = torch.load(ours_path)
    ours, x, our_logits = doc["state_dict"], doc["input"], doc["logits"]

    # 1. ours -> Python
    ref = python_model(arch)
    if not compare_layout(c, arch, ours, ref.state_dict()):
        return
    try:
        ref.load_state_dict(ours, strict=True)
    except Exception as e:
        c.fail("%s: Python load_state_dict(strict=True) of ours failed: %s" % (arch, e))
        return
    ref.eval()
    with torch.no_grad():
        want = ref(x)
    d1 = close(c, "%s: ours loaded into Python" % arch, our_logits, want)

    # 2. Python -> ours
    torch.manual_seed(11)
    py = python_model(arch)
    randomise(py, 3)
    py.eval()
    x2 = input_for(arch)
    with torch.no_grad():
        want2 = py(x2)
    theirs_path = os.path.join(wd, arch + "_theirs.pth")
    torch.save({"state_dict": py.state_dict(), "input": x2}, theirs_path)
    out_path = os.path.join(wd, arch + "_theirs_logits.pth")
    r = sgtest.run([args.dump, "--load", arch, str(NUM_CLASSES), theirs_path, out_path], timeout=120)
    if not c.check(r.rc == 0, "%s: --load failed: %s" % (arch, r.describe())):
        return
    d2 = close(c, "%s: Python's loaded into ours" % arch, torch.load(out_path)["logits"], want2)
    if verbose:
        print("%s: %d keys; logits diff ours->py %.2g (max |logit| %.3g), py->ours %.2g (max |logit| %.3g)" % (
            arch, len(ours), d1 or 0, want.abs().max().item(), d2 or 0, want2.abs().max().item()))


def check_strictness(c, args):
    """--load refuses state dicts that do not fit exactly."""
    arch = "resnet18"
    base = python_model(arch).state_dict()
    x = input_for(arch)
    bad = {}
    sd = collections.OrderedDict(base)
    del sd["layer1.0.bn1.running_var"]
    bad["missing"] = sd
    sd = collections.OrderedDict(base)
    sd["layer1.0.downsample.0.weight"] = torch.zeros(64, 64, 1, 1)
    bad["unexpected"] = sd
    sd = collections.OrderedDict(base)
    sd["fc.weight"] = torch.zeros(NUM_CLASSES + 1, 512)
    bad["shape"] = sd
    for what, sd in bad.items():
        p = os.path.join(args.workdir, "bad_%s.pth" % what)
        out = os.path.join(args.workdir, "bad_%s_out.pth" % what)
        torch.save({"state_dict": sd, "input": x}, p)
        r = sgtest.run([args.dump, "--load", arch, str(NUM_CLASSES), p, out], timeout=120)
        c.check(r.rc == 1, "--load with a %s key: expected exit 1: %s" % (what, r.describe()))
        c.check(not os.path.exists(out), "--load with a %s key wrote %s" % (what, out))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump",))  # --dump: the built sg_model_dump
    sgtest.fresh_dir(args.workdir)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c = sgtest.Checker("test_model_parity")
    for arch in ("resnet18", "resnet34", "resnet50", "resnet18_cifar", "resnet_mini"):
        check_arch(c, args, arch, args.verbose)
    check_strictness(c, args)
    c.report()


if __name__ == "__main__":
    main()
