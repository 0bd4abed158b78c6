"""Our optimizers (lib/sg Optimizer) against torch.optim 1.13 and SG's RMSpropTF.

Each case is a recipe's training_hyperparams, read as sg-train reads them (SG's defaults
where optimizer_params is silent), and the optimizer SG's build_optimizer would make from
it, written out here: torch.optim's class, or RMSpropTF re-expressed below in plain PyTorch
from SG's super_gradients/training/utils/optimizers/rmsprop_tf.py, over SG's param groups
(one group named "default", or with zero_weight_decay_on_bias_and_bn the biases and norm
weights without weight decay first, then the rest). The parameters are a small conv + BN +
linear model's; which of them SG leaves without weight decay is decided here by SG's rule
(_get_no_decay_param_ids) on the real torch.nn modules. Over the same gradients:
  1. `sg_optimizer_dump` N steps: our weights equal Python's bit for bit, our state dict
     equals Python's (param groups: keys in order and values; state: keys, step, tensors).
  2. Python's optimizer.load_state_dict(ours) continues K steps to the reference's weights
     and state.
  3. Python's state dict after N steps, torch.save'd, loads into ours (--load) and ours
     continues K steps to the reference's weights and state.
  4. Bad settings are refused (exit 1) with a message naming the key.
"""

import collections
import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
nn = torch.nn

N, K = 3, 3


class RMSpropTF(torch.optim.Optimizer):
    """SG's RMSpropTF update (eps inside the root, square_avg from ones, lr in the momentum)."""

    def __init__(self, params, lr=1e-2, alpha=0.9, eps=1e-10, weight_decay=0, momentum=0.0, centered=False,
                 decoupled_decay=False, lr_in_momentum=True):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, decoupled_decay=decoupled_decay,
                                      lr_in_momentum=lr_in_momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["square_avg"] = torch.ones_like(p)
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p)
                square_avg = state["square_avg"]
                one_minus_alpha = 1.0 - group["alpha"]
                state["step"] += 1
                if group["weight_decay"] != 0:
                    if group["decoupled_decay"]:
                        p.add_(p, alpha=-group["weight_decay"])
                    else:
                        grad = grad.add(p, alpha=group["weight_decay"])
                square_avg.add_(grad.pow(2) - square_avg, alpha=one_minus_alpha)
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg.add_(grad - grad_avg, alpha=one_minus_alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).add(group["eps"]).sqrt_()
                else:
                    avg = square_avg.add(group["eps"]).sqrt_()
                if group["momentum"] > 0:
                    buf = state["momentum_buffer"]
                    if group["lr_in_momentum"]:
                        buf.mul_(group["momentum"]).addcdiv_(grad, avg, value=group["lr"])
                        p.add_(-buf)
                    else:
                        buf.mul_(group["momentum"]).addcdiv_(grad, avg)
                        p.add_(buf, alpha=-group["lr"])
                else:
                    p.addcdiv_(grad, avg, value=-group["lr"])


CLASSES = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
           "RMSprop": torch.optim.RMSprop, "RMSpropTF": RMSpropTF}
# SG's OPTIMIZERS_DEFAULT_PARAMS (training/params.py); AdamW is not in it.
SG_DEFAULTS = {"SGD": {"weight_decay": 1e-4, "momentum": 0.9}, "Adam": {"weight_decay": 1e-4},
               "RMSprop": {"weight_decay": 1e-4, "momentum": 0.9}, "RMSpropTF": {"weight_decay": 1e-4, "momentum": 0.9}}

# (label, training_hyperparams)
CASES = [
    ("sgd_sg_defaults", {"optimizer": "SGD", "initial_lr": 0.1}),
    ("sgd_nesterov_zero_wd", {"optimizer": "SGD", "initial_lr": 0.05, "zero_weight_decay_on_bias_and_bn": True,
                              "optimizer_params": {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}}),
    ("adam_defaults_zero_wd", {"optimizer": "Adam", "initial_lr": 0.01, "zero_weight_decay_on_bias_and_bn": True}),
    ("adamw_amsgrad", {"optimizer": "AdamW", "initial_lr": 0.01,
                       "optimizer_params": {"betas": [0.8, 0.99], "amsgrad": True}}),
    ("rmsprop_defaults", {"optimizer": "RMSprop", "initial_lr": 0.01}),
    ("rmsprop_centered_zero_wd", {"optimizer": "RMSprop", "initial_lr": 0.02, "zero_weight_decay_on_bias_and_bn": True,
                                  "optimizer_params": {"centered": True, "alpha": 0.9, "momentum": 0.0}}),
    ("rmsproptf_defaults_zero_wd", {"optimizer": "RMSpropTF", "initial_lr": 0.016,
                                    "zero_weight_decay_on_bias_and_bn": True}),
    ("rmsproptf_decoupled", {"optimizer": "RMSpropTF", "initial_lr": 0.01,
                             "optimizer_params": {"decoupled_decay": True, "lr_in_momentum": False, "eps": 0.001,
                                                  "centered": True}}),
    ("rmsproptf_no_momentum", {"optimizer": "RMSpropTF", "initial_lr": 0.01,
                               "optimizer_params": {"momentum": 0.0, "weight_decay": 0.0}}),
]


def model_and_flags():
    """A conv + BN + linear model's parameters and SG's no-decay choice for each."""
    torch.manual_seed(0)
    model = nn.Sequential(collections.OrderedDict([
        ("conv", nn.Conv2d(3, 4, 3, bias=False)), ("bn", nn.BatchNorm2d(4)), ("pool", nn.AdaptiveAvgPool2d(1)),
        ("flat", nn.Flatten()), ("fc", nn.Linear(4, 2))]))
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm1d, nn.InstanceNorm2d,
                  nn.InstanceNorm3d)
    no_decay = set()
    for _, m in model.named_modules():
        if isinstance(m, norm_types):
            no_decay.update({id(m.weight), id(m.bias)})
        elif isinstance(getattr(m, "bias", None), nn.Parameter):
            no_decay.add(id(m.bias))
    params = [p.detach().clone() for p in model.parameters()]
    flags = [id(p) in no_decay for p in model.parameters()]
    return params, flags


def sg_optimizer(hp, params, flags):
    """SG's build_optimizer for `hp` over `params` (fresh leaf tensors)."""
    name = hp["optimizer"]
    kwargs = dict(SG_DEFAULTS.get(name, {}))
    kwargs.update(hp.get("optimizer_params", {}))
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    lr = hp["initial_lr"]
    if hp.get("zero_weight_decay_on_bias_and_bn"):
        groups = [{"params": [p for p, f in zip(params, flags) if f], "weight_decay": 0.0, "lr": lr, "name": "default"},
                  {"params": [p for p, f in zip(params, flags) if not f], "weight_decay": kwargs.get("weight_decay", 0.0),
                   "lr": lr, "name": "default"}]
    else:
        groups = [{"lr": lr, "name": "default", "params": list(params)}]
    return CLASSES[name](groups, **kwargs)


def leaves(tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def py_steps(opt, params, grads):
    for g in grads:
        for p, gp in zip(params, g):
            p.grad = gp.clone()
        opt.step()


def same_number(a, b):
    # PyTorch's defaults are ints (dampening=0, ...), ours floats: compare numbers by value.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_number(x, y) for x, y in zip(a, b))
    return a == b


def compare_state_dict(c, ours, ref, what):
    og, rg = ours["param_groups"], ref["param_groups"]
    if not c.check(len(og) == len(rg), "%s: %d param groups, PyTorch %d" % (what, len(og), len(rg))):
        return
    for i, (a, b) in enumerate(zip(og, rg)):
        c.check(list(a.keys()) == list(b.keys()), "%s: group %d keys %s, PyTorch %s" % (what, i, list(a), list(b)))
        for k in b:
            c.check(k in a and same_number(a[k], b[k]), "%s: group %d %s: ours %r, PyTorch %r" % (
                what, i, k, a.get(k), b[k]))
    os_, rs = ours["state"], ref["state"]
    c.check(sorted(os_) == sorted(rs), "%s: state keys %s, PyTorch %s" % (what, sorted(os_), sorted(rs)))
    for idx in rs:
        if idx not in os_:
            continue
        a, b = os_[idx], rs[idx]
        c.check(list(a) == list(b), "%s: state %d keys %s, PyTorch %s" % (what, idx, list(a), list(b)))
        for k, v in b.items():
            got = a.get(k)
            if isinstance(v, torch.Tensor):
                ok = isinstance(got, torch.Tensor) and got.dtype == v.dtype and torch.equal(got, v)
            else:
                ok = same_number(got, v)
            c.check(ok, "%s: state %d %s differs: ours %r, PyTorch %r" % (what, idx, k, got, v))


def compare_params(c, ours, ref, what):
    for i, (a, b) in enumerate(zip(ours, ref)):
        c.check(torch.equal(a, b.detach()), "%s: parameter %d differs (max %g)" % (
            what, i, (a - b.detach()).abs().max().item()))


def dump(c, args, label, hp, in_path, first, steps, out, load=None, expect_rc=0):
    cmd = [args.dump, json.dumps(hp), in_path, str(first), str(steps), out]
    if load:
        cmd += ["--load", load]
    r = sgtest.run(cmd, timeout=120)
    if not c.check(r.rc == expect_rc, "%s: expected exit %d: %s" % (label, expect_rc, r.describe())):
        return None
    return r if expect_rc != 0 else torch.load(out)


def check_case(c, args, params, flags, grads, label, hp):
    wd = os.path.join(args.workdir, label)
    os.makedirs(wd, exist_ok=True)
    in_path = os.path.join(wd, "in.pth")
    torch.save({"params": params, "no_decay": flags, "grads": grads}, in_path)

    ref_params = leaves(params)
    ref = sg_optimizer(hp, ref_params, flags)
    py_steps(ref, ref_params, grads[:N])
    ref_sd_n = copy.deepcopy(ref.state_dict())   # state_dict() holds the live tensors
    ref_params_n = [p.detach().clone() for p in ref_params]
    py_sd_path = os.path.join(wd, "python_sd.pth")
    torch.save(ref_sd_n, py_sd_path)
    py_steps(ref, ref_params, grads[N:N + K])
    ref_sd_end = ref.state_dict()

    # 1. Our first N steps.
    ours = dump(c, args, label, hp, in_path, 0, N, os.path.join(wd, "ours.pth"))
    if ours is None:
        return
    compare_params(c, ours["params"], ref_params_n, label + ": weights after %d steps" % N)
    compare_state_dict(c, ours["state_dict"], ref_sd_n, label + ": state_dict after %d steps" % N)

    # 2. Python continues from our state dict.
    cont = leaves(ours["params"])
    opt = sg_optimizer(hp, cont, flags)
    try:
        opt.load_state_dict(ours["state_dict"])
    except Exception as e:  # noqa: BLE001
        c.fail("%s: Python's load_state_dict(ours) raised %r" % (label, e))
        return
    py_steps(opt, cont, grads[N:N + K])
    compare_params(c, [p.detach() for p in cont], ref_params, label + ": Python continuing from ours")
    compare_state_dict(c, opt.state_dict(), ref_sd_end, label + ": Python continuing from ours")

    # 3. Ours continues from Python's state dict.
    in_n = os.path.join(wd, "in_after_n.pth")
    torch.save({"params": ref_params_n, "no_decay": flags, "grads": grads}, in_n)
    mine = dump(c, args, label + ": --load Python's", hp, in_n, N, K, os.path.join(wd, "cont.pth"), load=py_sd_path)
    if mine is None:
        return
    compare_params(c, mine["params"], ref_params, label + ": ours continuing from Python's")
    compare_state_dict(c, mine["state_dict"], ref_sd_end, label + ": ours continuing from Python's")


def check_refusals(c, args, in_path):
    out = os.path.join(args.workdir, "refused.pth")
    bad = [
        ("unknown optimizer", {"optimizer": "Adagrad", "initial_lr": 0.1}, "training_hyperparams.optimizer"),
        ("unknown optimizer parameter", {"optimizer": "SGD", "initial_lr": 0.1, "optimizer_params": {"momentun": 0.9}},
         "optimizer_params.momentun"),
        ("negative momentum", {"optimizer": "RMSprop", "initial_lr": 0.1, "optimizer_params": {"momentum": -0.5}},
         "optimizer_params.momentum"),
        ("nesterov without momentum", {"optimizer": "SGD", "initial_lr": 0.1,
                                       "optimizer_params": {"momentum": 0.0, "nesterov": True}},
         "optimizer_params.nesterov"),
    ]
    for what, hp, key in bad:
        r = dump(c, args, "refuses " + what, hp, in_path, 0, 1, out, expect_rc=1)
        if r is not None:
            c.check(key in r.err, "refuses %s: the message does not name %s: %s" % (what, key, r.err))
    # A state dict of two param groups (zero_weight_decay_on_bias_and_bn) into one.
    split = {"optimizer": "SGD", "initial_lr": 0.1, "zero_weight_decay_on_bias_and_bn": True}
    saved = dump(c, args, "two groups", split, in_path, 0, 1, out)
    if saved is not None:
        sd_path = os.path.join(args.workdir, "two_groups.pth")
        torch.save(saved["state_dict"], sd_path)
        r = dump(c, args, "refuses two groups into one", {"optimizer": "SGD", "initial_lr": 0.1}, in_path, 0, 1,
                 os.path.join(args.workdir, "x.pth"), load=sd_path, expect_rc=1)
        if r is not None:
            c.check("param groups" in r.err, "two groups into one: message %r" % r.err)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump",))  # --dump: the built sg_optimizer_dump
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_optimizer_parity")
    params, flags = model_and_flags()
    c.check(flags == [False, True, True, False, True], "SG's no-decay choice: %s" % flags)
    gen = torch.Generator().manual_seed(1)
    grads = [[torch.randn(p.shape, generator=gen) for p in params] for _ in range(N + K)]
    for label, hp in CASES:
        check_case(c, args, params, flags, grads, label, hp)
    check_refusals(c, args, os.path.join(args.workdir, CASES[0][0], "in.pth"))
    c.report()


if __name__ == "__main__":
    main()
