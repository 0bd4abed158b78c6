"""SuperGradients' MobileNetV3 (classification_models/mobilenetv3.py: mobilenetv3_large and
mobilenetv3_small, width_mult 1) in plain PyTorch, with SG's attribute names and order
(features.N.conv.M with SELayer.fc, conv, classifier 0..3)."""

import torch.nn as nn

# kernel, expansion, channels, SE, hard swish, stride (SG's cfgs)
LARGE = [[3, 1, 16, 0, 0, 1], [3, 4, 24, 0, 0, 2], [3, 3, 24, 0, 0, 1], [5, 3, 40, 1, 0, 2], [5, 3, 40, 1, 0, 1],
         [5, 3, 40, 1, 0, 1], [3, 6, 80, 0, 1, 2], [3, 2.5, 80, 0, 1, 1], [3, 2.3, 80, 0, 1, 1], [3, 2.3, 80, 0, 1, 1],
         [3, 6, 112, 1, 1, 1], [3, 6, 112, 1, 1, 1], [5, 6, 160, 1, 1, 2], [5, 6, 160, 1, 1, 1], [5, 6, 160, 1, 1, 1]]
SMALL = [[3, 1, 16, 1, 0, 2], [3, 4.5, 24, 0, 0, 2], [3, 3.67, 24, 0, 0, 1], [5, 4, 40, 1, 1, 2], [5, 6, 40, 1, 1, 1],
         [5, 6, 40, 1, 1, 1], [5, 3, 48, 1, 1, 1], [5, 3, 48, 1, 1, 1], [5, 6, 96, 1, 1, 2], [5, 6, 96, 1, 1, 1],
         [5, 6, 96, 1, 1, 1]]


def divisible(v, d=8):
    out = max(d, int(v + d / 2) // d * d)
    return out + d if out < 0.9 * v else out


class HSigmoid(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU6()

    def forward(self, x):
        return self.relu(x + 3) / 6


class HSwish(nn.Module):
    def __init__(self):
        super().__init__()
        self.sigmoid = HSigmoid()

    def forward(self, x):
        return x * self.sigmoid(x)


class SELayer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        squeezed = divisible(channels // 4)
        self.fc = nn.Sequential(nn.Linear(channels, squeezed), nn.ReLU(), nn.Linear(squeezed, channels), HSigmoid())

    def forward(self, x):
        b, c = x.shape[:2]
        return x * self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)


class InvertedResidual(nn.Module):
    def __init__(self, inp, hidden, oup, k, s, se, hs):
        super().__init__()
        self.identity = s == 1 and inp == oup
        act = HSwish if hs else nn.ReLU
        se_layer = SELayer(hidden) if se else nn.Identity()
        dw = [nn.Conv2d(hidden, hidden, k, s, (k - 1) // 2, groups=hidden, bias=False), nn.BatchNorm2d(hidden)]
        pw = [nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        if inp == hidden:
            self.conv = nn.Sequential(*dw, act(), se_layer, *pw)
        else:
            self.conv = nn.Sequential(nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), act(),
                                      *dw, se_layer, act(), *pw)

    def forward(self, x):
        return x + self.conv(x) if self.identity else self.conv(x)


class MobileNetV3(nn.Module):
    def __init__(self, mode, num_classes, in_channels=3):
        super().__init__()
        cfgs = LARGE if mode == "large" else SMALL
        channels = divisible(16)
        layers = [nn.Sequential(nn.Conv2d(in_channels, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), HSwish())]
        for k, t, c, se, hs, s in cfgs:
            out = divisible(c)
            hidden = divisible(channels * t)
            layers.append(InvertedResidual(channels, hidden, out, k, s, se, hs))
            channels = out
        self.features = nn.Sequential(*layers)
        self.conv = nn.Sequential(nn.Conv2d(channels, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), HSwish())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = 1280 if mode == "large" else 1024
        self.classifier = nn.Sequential(nn.Linear(hidden, last), HSwish(), nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.avgpool(self.conv(self.features(x)))
        return self.classifier(x.flatten(1))
