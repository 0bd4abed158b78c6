"""SuperGradients' RegNetY (classification_models/regnet.py: RegNetY200/400/600/800) in plain
PyTorch, with SG's attribute names and order (net.stem, net.stage_N.blocks.block_M with
conv_block_1/2, se, conv_block_3, shortcut; net.head.fc) and SG's stage derivation with
numpy (regnet_params_to_blocks). Eval-mode reference (dropout and drop path inactive)."""

import numpy as np
import torch.nn as nn

# initial width, slope, quantisation, depth, bottleneck ratio, group width, stride, SE ratio
REGNETY = {
    "regnetY200": (24, 36, 2.5, 13, 1, 8, 2, 4),
    "regnetY400": (48, 28, 2.1, 16, 1, 8, 2, 4),
    "regnetY600": (48, 33, 2.3, 15, 1, 16, 2, 4),
    "regnetY800": (56, 39, 2.4, 14, 1, 16, 2, 4),
}


def stages(w0, wa, wm, depth, ratio, group_width):
    widths = w0 + wa * np.arange(depth)
    exponents = np.round(np.log(widths / w0) / np.log(wm))
    quantised = 8 * np.round(w0 * np.power(wm, exponents) / 8)
    block_widths, counts = np.unique(quantised.astype(np.int32), return_counts=True)
    group_widths = [min(group_width, w // ratio) for w in block_widths]
    block_widths = (np.round(block_widths // ratio / group_width) * group_width).astype(np.int32).tolist()
    return counts.tolist(), block_widths, group_widths


class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.rl = nn.ReLU()

    def forward(self, x):
        return self.rl(self.bn(self.conv(x)))


class XBlock(nn.Module):
    def __init__(self, cin, cout, ratio, group_width, stride, se_ratio):
        super().__init__()
        inter = int(cout // ratio)
        self.conv_block_1 = nn.Sequential(nn.Conv2d(cin, inter, 1, bias=False), nn.BatchNorm2d(inter), nn.ReLU())
        self.conv_block_2 = nn.Sequential(
            nn.Conv2d(inter, inter, 3, stride, 1, groups=int(inter // group_width), bias=False),
            nn.BatchNorm2d(inter), nn.ReLU())
        se = cin // se_ratio
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(inter, se, 1), nn.ReLU(), nn.Conv2d(se, inter, 1),
                                nn.Sigmoid(), nn.Identity())
        self.se_residual = nn.Identity()
        self.conv_block_3 = nn.Sequential(nn.Conv2d(inter, cout, 1, bias=False), nn.BatchNorm2d(cout))
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout), nn.Identity())
        else:
            self.shortcut = nn.Identity()
        self.drop_path = nn.Identity()
        self.rl = nn.ReLU()

    def forward(self, x):
        y = self.conv_block_2(self.conv_block_1(x))
        y = self.conv_block_3(self.se_residual(y) * self.se(y))
        return self.rl(self.drop_path(y) + self.shortcut(x))


class Stage(nn.Module):
    def __init__(self, n, cin, cout, ratio, group_width, stride, se_ratio):
        super().__init__()
        self.blocks = nn.Sequential()
        for i in range(n):
            self.blocks.add_module("block_%d" % i, XBlock(cin if i == 0 else cout, cout, ratio, group_width,
                                                          stride if i == 0 else 1, se_ratio))

    def forward(self, x):
        return self.blocks(x)


class Head(nn.Module):
    def __init__(self, channels, num_classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.0)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.dropout(self.pool(x).flatten(1)))


class RegNetY(nn.Module):
    def __init__(self, arch, num_classes, in_channels=3):
        super().__init__()
        w0, wa, wm, depth, ratio, gw, stride, se_ratio = REGNETY[arch]
        counts, widths, group_widths = stages(w0, wa, wm, depth, ratio, gw)
        self.net = nn.Sequential()
        self.net.add_module("stem", Stem(in_channels, 32))
        prev = 32
        for i, (n, w, g) in enumerate(zip(counts, widths, group_widths)):
            self.net.add_module("stage_%d" % i, Stage(n, prev, w, ratio, g, stride, se_ratio))
            prev = w
        self.net.add_module("head", Head(widths[-1], num_classes))

    def forward(self, x):
        return self.net(x)
