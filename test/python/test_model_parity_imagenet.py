"""SuperGradients' ImageNet-recipe classifiers, ours against SG's modules re-expressed in
plain PyTorch (one sg_ref_<family>.py each, SG's attribute names and order): the same
state dict keys, order, shapes and dtypes, and the same eval-mode logits in both directions,
through `sg_model_dump` (test_model_parity.check_arch).

  - efficientnet_b0 (efficientnet.py: static same padding for image_size 224, BN eps 1e-3),
  - regnetY200/400/600/800 (regnet.py: stages derived with numpy as SG does),
  - repvgg_a0 (repvgg.py: the training-time multi-branch blocks),
  - mobilenet_v3_large / mobilenet_v3_small (mobilenetv3.py),
  - mobilenet_v2 (SGMobileNetV2 in test_model_parity.py).
Python's weights go to ours calibrated (below); each calibrated reference is checked to give
logits that depend on the input, so that a wrong padding or branch order cannot pass unseen.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

import sg_ref_efficientnet  # noqa: E402
import sg_ref_mobilenet_v3  # noqa: E402
import sg_ref_regnet  # noqa: E402
import sg_ref_repvgg  # noqa: E402
import test_model_parity as parity  # noqa: E402

# arch: (the Python reference, the floor of its BN running variances in calibrated()).
# Each floor keeps the logits input-dependent (over 0.05 between two random inputs) while
# Python's own float32 rounding (2 threads vs 1, float64) stays under 1e-5 of them.
REFERENCES = {
    "efficientnet_b0": (lambda: sg_ref_efficientnet.EfficientNetB0(parity.NUM_CLASSES), 3e-3),
    "regnetY200": (lambda: sg_ref_regnet.RegNetY("regnetY200", parity.NUM_CLASSES), 3e-2),
    "regnetY400": (lambda: sg_ref_regnet.RegNetY("regnetY400", parity.NUM_CLASSES), 3e-2),
    "regnetY600": (lambda: sg_ref_regnet.RegNetY("regnetY600", parity.NUM_CLASSES), 3e-2),
    "regnetY800": (lambda: sg_ref_regnet.RegNetY("regnetY800", parity.NUM_CLASSES), 3e-2),
    "repvgg_a0": (lambda: sg_ref_repvgg.RepVGG(parity.NUM_CLASSES), 3e-2),
    "mobilenet_v3_large": (lambda: sg_ref_mobilenet_v3.MobileNetV3("large", parity.NUM_CLASSES), 3e-3),
    "mobilenet_v3_small": (lambda: sg_ref_mobilenet_v3.MobileNetV3("small", parity.NUM_CLASSES), 3e-3),
    "mobilenet_v2": (lambda: parity.SGMobileNetV2(parity.NUM_CLASSES), 3e-3),
}
INPUT_DEPENDENCE = 0.05   # the least largest-logit change between two random inputs


def python_model(arch):
    model = REFERENCES[arch][0]()
    model.var_floor = REFERENCES[arch][1]
    return model


def small_input(arch):
    # 32x32: the smallest side every one of these networks (stride 32) keeps at 1x1 or more.
    return torch.randn(2, 3, 32, 32)


def calibrated(model, seed):
    """parity.randomise, then every BN's running statistics measured on a random batch, the
    variances floored at model.var_floor: each layer's output stays about normalised, so the
    logits depend on the input (with random statistics alone these deep networks give nearly
    constant logits, and a wrong padding or branch order would pass unseen); the floor keeps
    near-constant channels from amplifying rounding."""
    parity.randomise(model, seed)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: one batch gives its own statistics
    model.train()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model(torch.randn(16, 3, 32, 32, generator=g))
    for m, momentum in zip(norms, momenta):
        m.running_var.clamp_(min=model.var_floor)
        m.momentum = momentum
        m.num_batches_tracked.fill_(seed)


def check_input_dependence(c, args):
    for arch in REFERENCES:
        torch.manual_seed(11)
        model = python_model(arch)
        calibrated(model, 3)
        model.eval()
        with torch.no_grad():
            change = (model(small_input(arch)) - model(small_input(arch))).abs().max().item()
        c.check(change > INPUT_DEPENDENCE, "%s: calibrated logits change by %.3g between two inputs (<= %g)" % (
            arch, change, INPUT_DEPENDENCE))


def main():
    parity.run("test_model_parity_imagenet", __doc__, REFERENCES, make_model=python_model, make_input=small_input,
               prepare=calibrated, after=check_input_dependence)

if __name__ == "__main__":
    main()
