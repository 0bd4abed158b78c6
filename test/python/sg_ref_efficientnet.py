"""SuperGradients' EfficientNet-B0 (classification_models/efficientnet.py) in plain PyTorch,
with SG's attribute names and order: static TensorFlow-style same padding for a fixed
image size, MBConv blocks with squeeze-excitation, head `_fc`. Eval-mode reference only
(drop connect is identity outside training)."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# repeats, kernel, stride, expand ratio, in, out (SG's B0 block strings; SE ratio 0.25)
B0_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
             (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


class StaticSameConv2d(nn.Conv2d):
    """SG's Conv2dStaticSamePadding: output ceil(image / stride), larger pad half first."""

    def __init__(self, cin, cout, kernel, stride=1, image_size=None, **kw):
        super().__init__(cin, cout, kernel, stride, **kw)
        s = self.stride[0]
        pad = max((math.ceil(image_size / s) - 1) * s + kernel - image_size, 0)
        self.static_padding = nn.ZeroPad2d((pad - pad // 2, pad // 2, pad - pad // 2, pad // 2)) if pad else nn.Identity()

    def forward(self, x):
        return F.conv2d(self.static_padding(x), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConvBlock(nn.Module):
    def __init__(self, cin, cout, kernel, stride, expand, skip, image_size, bn_mom, bn_eps):
        super().__init__()
        hidden = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = StaticSameConv2d(cin, hidden, 1, image_size=image_size, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, momentum=bn_mom, eps=bn_eps)
        self._depthwise_conv = StaticSameConv2d(hidden, hidden, kernel, stride, image_size=image_size, groups=hidden,
                                                bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, momentum=bn_mom, eps=bn_eps)
        squeezed = max(1, int(cin * 0.25))
        self._se_reduce = StaticSameConv2d(hidden, squeezed, 1, image_size=1)
        self._se_expand = StaticSameConv2d(squeezed, hidden, 1, image_size=1)
        self._project_conv = StaticSameConv2d(hidden, cout, 1, image_size=math.ceil(image_size / stride), bias=False)
        self._bn2 = nn.BatchNorm2d(cout, momentum=bn_mom, eps=bn_eps)
        self.skip = skip and stride == 1 and cin == cout

    def forward(self, inputs):
        x = inputs
        if self.expand != 1:
            x = F.silu(self._bn0(self._expand_conv(x)))
        x = F.silu(self._bn1(self._depthwise_conv(x)))
        s = self._se_expand(F.silu(self._se_reduce(F.adaptive_avg_pool2d(x, 1))))
        x = self._bn2(self._project_conv(torch.sigmoid(s) * x))
        return x + inputs if self.skip else x


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes, in_channels=3, image_size=224, dropout_rate=0.2, bn_momentum=0.99, bn_eps=1e-3):
        super().__init__()
        mom = 1 - bn_momentum
        self._conv_stem = StaticSameConv2d(in_channels, 32, 3, 2, image_size=image_size, bias=False)
        self._bn0 = nn.BatchNorm2d(32, momentum=mom, eps=bn_eps)
        size = math.ceil(image_size / 2)
        self._blocks = nn.ModuleList()
        for repeats, k, s, e, cin, cout in B0_STAGES:
            self._blocks.append(MBConvBlock(cin, cout, k, s, e, False, size, mom, bn_eps))
            size = math.ceil(size / s)
            for _ in range(repeats - 1):
                self._blocks.append(MBConvBlock(cout, cout, k, 1, e, True, size, mom, bn_eps))
        self._conv_head = StaticSameConv2d(320, 1280, 1, image_size=size, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, momentum=mom, eps=bn_eps)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout_rate)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = F.silu(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.silu(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(self._avg_pooling(x).flatten(1)))
