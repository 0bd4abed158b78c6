"""Our EMA (lib/sg ModelEMA) against SuperGradients' formula applied in Python.

For each decay_type (constant, threshold, exp), `sg_ema_dump` trains resnet_mini for a few
real SGD steps (BatchNorm stats and num_batches_tracked move too), updating our EMA after
each step with SG's step numbering (1, 2, ...), and saves every model state, the decays it
used and its final EMA. Here we replay SG's ModelEMA.update on the same sequence:

    decay = decay_function(decay, step, total_steps)      # ema_decay_schedules.py
    for ema_v, model_v in zip(ema.state_dict().values(), model.state_dict().values()):
        if ema_v.dtype.is_floating_point:
            ema_v.copy_(ema_v * decay + (1.0 - decay) * model_v.detach())

and require our EMA to match within 1e-6 (it is in fact bit-identical on CPU), integer
buffers to keep the value they had when the EMA was made (SG never updates them), the
decays to equal SG's, and the EMA state dict to load strictly into resnet_mini's Python twin.
"""

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

try:
    import numpy as np  # SG's schedules use numpy; fall back to math if it is missing
except Exception:  # pragma: no cover
    np = None

TOL = 1e-6
DECAY = 0.95
BETA = 15.0
TOTAL_STEPS = 20
NUM_STEPS = 12


def sg_decay(decay_type, decay, step, total_steps, beta):
    """ConstantDecay / ThresholdDecay / ExpDecay.__call__ from SG 3.x."""
    if decay_type == "constant":
        return decay
    if decay_type == "threshold":
        return np.minimum(decay, (1 + step) / (10 + step)) if np else min(decay, (1 + step) / (10 + step))
    if decay_type == "exp":
        x = step / total_steps
        return decay * (1 - (np.exp(-x * beta) if np else math.exp(-x * beta)))
    raise ValueError(decay_type)


def check_type(c, args, decay_type):
    out = os.path.join(args.workdir, "ema_%s.pth" % decay_type)
    r = sgtest.run([args.dump, decay_type, repr(DECAY), repr(BETA), str(TOTAL_STEPS), str(NUM_STEPS), out],
                   timeout=300)
    if not c.check(r.rc == 0, "%s: sg_ema_dump failed: %s" % (decay_type, r.describe())):
        return
    d = torch.load(out)
    initial, states, ours = d["initial"], d["states"], d["ema"]
    c.check(len(states) == NUM_STEPS, "%s: %d states, expected %d" % (decay_type, len(states), NUM_STEPS))
    c.check(d["updates"] == NUM_STEPS, "%s: updates %r" % (decay_type, d["updates"]))

    # SG's ModelEMA starts as deepcopy(model) and updates in place.
    ema = {k: v.clone() for k, v in initial.items()}
    with torch.no_grad():
        for step, state in enumerate(states, start=1):
            decay = sg_decay(decay_type, DECAY, step, TOTAL_STEPS, BETA)
            ours_decay = d["decays"][step - 1]
            c.check(abs(float(decay) - ours_decay) <= 1e-15,
                    "%s: step %d decay %r, SG's %r" % (decay_type, step, ours_decay, float(decay)))
            for (k, ema_v), model_v in zip(ema.items(), state.values()):
                if ema_v.dtype.is_floating_point:
                    ema_v.copy_(ema_v * decay + (1.0 - decay) * model_v.detach())

    c.check(list(ours.keys()) == list(ema.keys()), "%s: EMA keys/order differ" % decay_type)
    worst, bit_equal, moved = 0.0, True, 0.0
    for k, want in ema.items():
        got = ours.get(k)
        if not c.check(got is not None and got.dtype == want.dtype and got.shape == want.shape,
                       "%s: %s missing or dtype/shape differ" % (decay_type, k)):
            continue
        if want.dtype.is_floating_point:
            diff = (got.double() - want.double()).abs().max().item() if want.numel() else 0.0
            worst = max(worst, diff)
            bit_equal = bit_equal and torch.equal(got, want)
            moved = max(moved, (want.double() - initial[k].double()).abs().max().item() if want.numel() else 0.0)
            c.check(diff <= TOL, "%s: %s differs from SG's formula by %g" % (decay_type, k, diff))
        else:
            c.check(torch.equal(got, initial[k]),
                    "%s: integer buffer %s = %s, SG keeps the initial %s" % (decay_type, k, got, initial[k]))
            c.check(not torch.equal(states[-1][k], initial[k]) or "num_batches" not in k,
                    "%s: %s did not move in the model: the check is void" % (decay_type, k))
    # The sequence must actually move the EMA, or the comparison proves nothing.
    c.check(moved > 1e-3, "%s: EMA barely moved from the initial state (%g)" % (decay_type, moved))

    from sg_models import MiniResNet  # needs torchvision
    net = MiniResNet(num_classes=10, in_channels=1)
    try:
        net.load_state_dict(ours, strict=True)
    except Exception as e:
        c.fail("%s: EMA state does not load strictly into MiniResNet: %s" % (decay_type, e))
    if args.verbose:
        print("%s: max |ours - SG| = %g, bit-identical: %s" % (decay_type, worst, bit_equal))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump",))  # --dump: the built sg_ema_dump
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_ema_reference")
    for decay_type in ("constant", "threshold", "exp"):
        check_type(c, args, decay_type)
    c.report()


if __name__ == "__main__":
    main()
