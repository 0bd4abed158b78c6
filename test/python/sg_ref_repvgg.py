"""SuperGradients' RepVGG-A0 (classification_models/repvgg.py with modules/repvgg_block.py)
in plain PyTorch, in its training-time form (build_residual_branches=True, no SE): SG's
attribute names and order (RepVGGBlock: nonlinearity, se, no_conv_branch, branch_3x3,
branch_1x1; RepVGG: stem, stage1..4, avgpool, linear) and PyTorch's default init."""

import torch.nn as nn

A0 = ([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5])


def conv_bn(cin, cout, kernel, stride):
    seq = nn.Sequential()
    seq.add_module("conv", nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False))
    seq.add_module("bn", nn.BatchNorm2d(cout))
    return seq


class RepVGGBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.nonlinearity = nn.ReLU(inplace=True)
        self.se = nn.Identity()
        self.no_conv_branch = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.branch_3x3 = conv_bn(cin, cout, 3, stride)
        self.branch_1x1 = conv_bn(cin, cout, 1, stride)

    def forward(self, x):
        identity = 0 if self.no_conv_branch is None else self.no_conv_branch(x)
        return self.nonlinearity(self.se(self.branch_3x3(x) + self.branch_1x1(x) + identity))


class RepVGG(nn.Module):
    def __init__(self, num_classes, in_channels=3, struct=A0[0], width_multiplier=A0[1]):
        super().__init__()
        self.in_planes = int(64 * width_multiplier[0])
        self.stem = RepVGGBlock(in_channels, self.in_planes, 2)
        self.stage1 = self._make_stage(int(64 * width_multiplier[0]), struct[0])
        self.stage2 = self._make_stage(int(128 * width_multiplier[1]), struct[1])
        self.stage3 = self._make_stage(int(256 * width_multiplier[2]), struct[2])
        self.stage4 = self._make_stage(int(512 * width_multiplier[3]), struct[3])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(int(512 * width_multiplier[3]), num_classes)

    def _make_stage(self, planes, n):
        blocks = []
        for stride in [2] + [1] * (n - 1):
            blocks.append(RepVGGBlock(self.in_planes, planes, stride))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.stage1(self.stem(x)))))
        return self.linear(self.avgpool(x).flatten(1))
