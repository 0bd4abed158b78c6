"""Our C++ models against Python's: same state dict keys, order, shapes and dtypes, and the
same eval-mode logits for the same weights and input, in both directions.

  - torchvision_resnet18/34/50 against torchvision 0.14's models,
  - resnet18/34/50 and resnet18_cifar against SuperGradients' ResNet and CifarResNet,
    re-expressed here in plain PyTorch with SG's names and attribute order
    (super_gradients/training/models/classification_models/resnet.py: BasicResNetBlock and
    Bottleneck with their `shortcut`, head `linear`),
  - mobilenet_v2's reference, SG's MobileNetV2 (mobilenetv2.py) re-expressed here the same way,
    is checked in test_model_parity_imagenet.py, with BN statistics that keep its logits
    input-dependent,
  - resnet_mini against its Python twin (MiniResNet in sg_models.py, shared with
    bench/train_loop.py), the model of the default recipe.

For each: `sg_model_dump ARCH N ours.pth` writes our fresh model's state dict, an input and
our logits; the Python model must load it strict=True and give the same logits (1e-5, relative
for logits above 1).
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

TOL = 1e-5
NUM_CLASSES = 7


# --- Python references for the models torchvision does not have ------------------------

class SGBasicResNetBlock(nn.Module):
    """SG's BasicResNetBlock (droppath 0: its DropPath holds no state)."""
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.drop_path = nn.Identity()
        self.shortcut = sg_shortcut(in_planes, planes, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.drop_path(out)
        out = out + self.shortcut(x)
        return F.relu(out)


class SGBottleneck(nn.Module):
    """SG's Bottleneck (expansion 4, stride on the 3x3 convolution)."""
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.drop_path = nn.Identity()
        self.shortcut = sg_shortcut(in_planes, 4 * planes, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.drop_path(out)
        out = out + self.shortcut(x)
        return F.relu(out)


def sg_shortcut(in_planes, out_planes, stride):
    if stride == 1 and in_planes == out_planes:
        return nn.Sequential()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))


class SGResNet(nn.Module):
    """SG's ResNet (imagenet=True: ResNet18/34/50, 7x7 stem and maxpool, then `linear`
    before `avgpool`) and CifarResNet (imagenet=False: ResNet18Cifar, 3x3 stem)."""

    def __init__(self, block, num_blocks, num_classes=10, in_channels=3, imagenet=True):
        super().__init__()
        self.imagenet = imagenet
        self.in_planes = 64
        if imagenet:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet else nn.Identity()
        self.layer1 = self._make_layer(block, 64, num_blocks[0], 1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], 2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], 2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], 2)
        self.linear = nn.Linear(512 * block.expansion, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def _make_layer(self, block, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = self.avgpool(out)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def sg_conv_bn(inp, oup, kernel, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(inplace=True))


class SGInvertedResidual(nn.Module):
    """SG's InvertedResidual (grouped_conv_size 1: depthwise)."""

    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = inp * t
        self.use_res_connect = stride == 1 and inp == oup
        expand = [nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        self.conv = nn.Sequential(*(expand if t != 1 else []),
                                  nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                  nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                                  nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class SGMobileNetV2(nn.Module):
    """SG's MobileNetV2Base (mobilenetv2.py: width_mult 1, SG's default structure)."""

    def __init__(self, num_classes, dropout=0.0, in_channels=3):
        super().__init__()
        features = [sg_conv_bn(in_channels, 32, 3, 2)]
        channels = 32
        for t, c, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                           [6, 160, 3, 2], [6, 320, 1, 1]]:
            for i in range(n):
                features.append(SGInvertedResidual(channels, c, s if i == 0 else 1, t))
                channels = c
        features.append(sg_conv_bn(channels, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean(3).mean(2))


SG_RESNETS = {
    "resnet18": (SGBasicResNetBlock, (2, 2, 2, 2), True),
    "resnet34": (SGBasicResNetBlock, (3, 4, 6, 3), True),
    "resnet50": (SGBottleneck, (3, 4, 6, 3), True),
    "resnet18_cifar": (SGBasicResNetBlock, (2, 2, 2, 2), False),
}


def python_model(arch):
    if arch.startswith("torchvision_"):
        return getattr(torchvision.models, arch[len("torchvision_"):])(num_classes=NUM_CLASSES)
    if arch in SG_RESNETS:
        block, blocks, imagenet = SG_RESNETS[arch]
        return SGResNet(block, blocks, num_classes=NUM_CLASSES, imagenet=imagenet)
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
    # Absolute for logits up to 1; relative beyond (fresh torchvision ResNets reach ~20).
    tol = TOL * max(1.0, want.abs().max().item())
    c.check(diff <= tol, "%s: logits differ by %.3g (> %g); max |logit| %.3g" % (
        what, diff, tol, want.abs().max().item()))
    return diff


def randomise(model, seed):
    """Random weights *and* BN statistics so that every buffer matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                # Scales below 1 keep deep models' logits O(1), where 1e-5 is meaningful.
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.5 + 0.25)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.2)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(seed)


def check_arch(c, args, arch, verbose, make_model=None, make_input=None, prepare=randomise):
    """make_model(arch) / make_input(arch): the Python reference and the --load input
    (python_model and input_for unless given); prepare(model, seed) sets the weights that
    go the other way."""
    make_model = make_model or python_model
    make_input = make_input or input_for
    wd = args.workdir
    ours_path = os.path.join(wd, arch + "_ours.pth")
    r = sgtest.run([args.dump, arch, str(NUM_CLASSES), ours_path], timeout=120)
    if not c.check(r.rc == 0, "%s: dump failed: %s" % (arch, r.describe())):
        return
    doc = torch.load(ours_path)
    ours, x, our_logits = doc["state_dict"], doc["input"], doc["logits"]

    # 1. ours -> Python
    ref = make_model(arch)
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
    py = make_model(arch)
    prepare(py, 3)
    py.eval()
    x2 = make_input(arch)
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
    arch = "torchvision_resnet18"
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


def run(name, doc, archs, after=None, **check_kw):
    """check_arch for each of `archs` (check_kw passed on), then after(c, args); reports."""
    args = sgtest.parse_args(doc, need_inspect=False, paths=("dump",))  # --dump: the built sg_model_dump
    sgtest.fresh_dir(args.workdir)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c = sgtest.Checker(name)
    for arch in archs:
        check_arch(c, args, arch, args.verbose, **check_kw)
    if after:
        after(c, args)
    c.report()


def main():
    run("test_model_parity", __doc__,
        ("resnet18", "resnet34", "resnet50", "resnet18_cifar", "torchvision_resnet18", "torchvision_resnet34",
         "torchvision_resnet50", "resnet_mini"), after=check_strictness)


if __name__ == "__main__":
    main()
