"""Python twins of our C++ models that torchvision does not ship, shared by the parity test
(test_model_parity.py) and the training benchmark (bench/train_loop.py).

  - MiniResNet: resnet_mini, the model of the default recipe (fashion_mnist_resnet).
  - torchvision_init_: the weight init torchvision's ResNet applies, and so does our
    resnet_mini (Init::TorchVision in lib/sg/src/models/resnet.cpp).

Needs torch and torchvision (Debian's python3-torch / python3-torchvision).
"""

import torch
import torch.nn as nn
import torchvision


class MiniResNet(nn.Module):
    """resnet_mini's Python twin: torchvision naming, 3x3 stem at full resolution, then one
    BasicBlock per stage at 16/32/64 channels, each with stride 2 (28 -> 14 -> 7 -> 4)."""

    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), strides=(2, 2, 2)):
        super().__init__()
        BasicBlock = torchvision.models.resnet.BasicBlock
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages, inp = [], widths[0]
        for w, s in zip(widths, strides):
            down = None
            if s != 1 or inp != w:
                down = nn.Sequential(nn.Conv2d(inp, w, 1, s, bias=False), nn.BatchNorm2d(w))
            stages.append(nn.Sequential(BasicBlock(inp, w, s, down)))
            inp = w
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torchvision_init_(model):
    """torchvision's ResNet init, in place: convs kaiming_normal_(fan_out, relu), BN weight 1
    and bias 0; Linear keeps PyTorch's default. Returns the model."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
    return model
