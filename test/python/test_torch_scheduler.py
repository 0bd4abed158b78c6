"""Our PyTorch LR schedulers (lib/sg torch_scheduler) against torch.optim.lr_scheduler 1.13.

For each scheduler and a few parameter sets, with a reference Python run of N+K steps:
  1. `sg_scheduler_dump NAME PARAMS N ours.pth`: our rates for steps 0..N equal Python's
     (exactly, or within 1e-12 relative), OneCycleLR's cycled momentum too; our state dict
     equals Python's state_dict() after N steps (keys, order, types, values), but for the
     two documented differences (MultiStepLR milestones: a dict, not a Counter; OneCycleLR:
     `_anneal_func_type` instead of the bound method `anneal_func`); what the scheduler
     adds to the optimizer's param group equals what Python's adds.
  2. Python's scheduler.load_state_dict(ours) (optimizer lr set to ours, as a restored
     optimizer has it) continues for K steps with the reference's rates and ends with the
     reference's state.
  3. Python's state dict after N steps, torch.save'd, loads into ours (`--load`) and ours
     continues with the reference's rates and ends with the reference's state.
  4. Bad parameters are refused (exit 1) with a message naming the argument, and PyTorch
     raises for the same ones (but where we are stricter, marked in the table).
"""

import collections
import copy
import json
import math
import os
import re
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()
from torch.optim import lr_scheduler as L  # noqa: E402

REL_TOL = 1e-12

# (label, name, params given to both, base_lr, N, K, extras)
# extras: metrics (ReduceLROnPlateau), betas (Adam), ctx_total (OneCycleLR total steps given
# only as the trainer's context: --total-steps for ours, total_steps=... for Python),
# py_only (kwargs only Python gets, standing for our defaults).
CASES = [
    ("step_3", "StepLR", {"step_size": 3, "gamma": 0.1}, 0.1, 10, 10, {}),
    ("step_1_drift", "StepLR", {"step_size": 1, "gamma": 0.7}, 0.05, 25, 25, {}),
    ("step_int_gamma", "StepLR", {"step_size": 4, "gamma": 1}, 0.3, 6, 6, {}),
    ("multistep", "MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.5}, 0.1, 6, 8, {}),
    ("multistep_default", "MultiStepLR", {"milestones": [8, 3]}, 0.2, 4, 6, {}),
    ("cosine_10", "CosineAnnealingLR", {"T_max": 10}, 0.1, 13, 24, {}),
    ("cosine_eta", "CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}, 0.05, 5, 20, {}),
    ("cosine_eta_float0", "CosineAnnealingLR", {"T_max": 3, "eta_min": 0.0}, 0.4, 4, 9, {}),
    ("onecycle_cos", "OneCycleLR", {"max_lr": 0.5, "total_steps": 40}, 0.1, 15, 25, {}),
    ("onecycle_linear_3phase", "OneCycleLR",
     {"max_lr": 1.0, "total_steps": 30, "anneal_strategy": "linear", "three_phase": True,
      "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}, 0.1, 11, 19, {}),
    ("onecycle_epochs_nomom", "OneCycleLR",
     {"max_lr": 0.3, "epochs": 4, "steps_per_epoch": 7, "cycle_momentum": False}, 0.1, 9, 19, {}),
    ("onecycle_adam_ctx", "OneCycleLR",
     {"max_momentum": 0.9, "base_momentum": 0.8, "pct_start": 0.4}, 0.02, 10, 15,
     {"betas": True, "ctx_total": 25, "py_only": {"max_lr": 0.02}}),
    ("exponential", "ExponentialLR", {"gamma": 0.9}, 0.1, 10, 15, {}),
    ("exponential_int_gamma", "ExponentialLR", {"gamma": 1}, 0.3, 3, 3, {}),
    ("constant", "ConstantLR", {"factor": 0.5, "total_iters": 4}, 0.05, 3, 6, {}),
    ("constant_default", "ConstantLR", {}, 0.1, 6, 4, {}),
    ("linear_warmup", "LinearLR", {"start_factor": 0.25, "total_iters": 6}, 0.1, 4, 8, {}),
    ("linear_decay", "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 5}, 0.2, 2, 6, {}),
    ("warm_restarts", "CosineAnnealingWarmRestarts", {"T_0": 5}, 0.1, 7, 13, {}),
    ("warm_restarts_mult", "CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001},
     0.1, 10, 20, {}),
    ("cyclic_triangular", "CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, 0.1, 6, 14, {}),
    ("cyclic_triangular2_nomom", "CyclicLR",
     {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 3, "step_size_down": 5, "mode": "triangular2",
      "cycle_momentum": False}, 0.1, 9, 20, {}),
    ("cyclic_exp_range", "CyclicLR",
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2.5, "mode": "exp_range", "gamma": 0.9,
      "base_momentum": 0.85, "max_momentum": 0.95}, 0.1, 7, 11, {}),
    ("plateau_min", "ReduceLROnPlateau", {"patience": 2, "factor": 0.5}, 0.1, 9, 9,
     {"metrics": [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.8, 0.85, 0.85, 0.85, 0.7, 0.7, 0.71, 0.72,
                  0.73, 0.74, 0.75, 0.76]}),
    ("plateau_max_abs", "ReduceLROnPlateau",
     {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "cooldown": 2, "patience": 1,
      "min_lr": 0.001, "factor": 0.3}, 0.1, 8, 10,
     {"metrics": [0.1, 0.2, 0.205, 0.21, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.31, 0.3,
                  0.3, 0.3, 0.3, 0.3]}),
    ("plateau_eps_rel_max", "ReduceLROnPlateau",
     {"mode": "max", "eps": 0.01, "factor": 0.5, "patience": 0, "min_lr": 0.02,
      "threshold": 0.05}, 0.1, 3, 5,
     {"metrics": [1.0, 1.01, 1.2, 1.2, float("nan"), 1.3, 1.3, 1.3]}),
]


def make_optimizer(base_lr, betas):
    p = torch.nn.Parameter(torch.zeros(1))
    if betas:
        return torch.optim.Adam([p], lr=base_lr)
    return torch.optim.SGD([p], lr=base_lr, momentum=0.9)


def py_kwargs(params, extras):
    kw = dict(params)
    if "ctx_total" in extras:
        kw["total_steps"] = extras["ctx_total"]
    kw.update(extras.get("py_only", {}))
    return kw


CYCLES_MOMENTUM = ("OneCycleLR", "CyclicLR")


def momentum_of(name, sched, opt):
    if name not in CYCLES_MOMENTUM or not sched.cycle_momentum:
        return None
    g = opt.param_groups[0]
    return g["betas"][0] if "betas" in g else g["momentum"]


def ours_form(sd):
    """Python's state dict as we write it (the documented differences)."""
    out = collections.OrderedDict()
    for k, v in sd.items():
        if k == "_scale_fn_ref":
            continue
        if k == "anneal_func":
            out["_anneal_func_type"] = {"_annealing_cos": "cos", "_annealing_linear": "linear"}[v.__name__]
        elif k == "milestones":
            out[k] = dict(v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def py_step(name, sched, opt, metric):
    opt.step()
    if name == "ReduceLROnPlateau":
        sched.step(metric)
    else:
        sched.step()


def py_run(name, kwargs, base_lr, steps, metrics, betas, snapshot_at):
    """Reference run: rates and momenta for 0..steps, ours_form state dicts at snapshot_at."""
    opt = make_optimizer(base_lr, betas)
    fresh_keys = set(opt.param_groups[0])
    sched = getattr(L, name)(opt, **kwargs)
    added = {k: v for k, v in opt.param_groups[0].items() if k not in fresh_keys}
    lrs, moms, sds, raw = [opt.param_groups[0]["lr"]], [momentum_of(name, sched, opt)], {}, {}
    for i in range(steps + 1):
        if i in snapshot_at:
            raw[i] = list(sched.state_dict().keys())
            sds[i] = ours_form(sched.state_dict())
        if i == steps:
            break
        py_step(name, sched, opt, metrics[i] if metrics else None)
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(momentum_of(name, sched, opt))
    return lrs, moms, sds, raw, added


def close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b))
    return a == b


class Stats:
    exact = 0
    inexact = 0


def compare_seq(c, got, want, what):
    if not c.check(len(got) == len(want), "%s: %d values, expected %d" % (what, len(got), len(want))):
        return
    for i, (a, b) in enumerate(zip(got, want)):
        if a == b or (a is None and b is None):
            Stats.exact += 1
            continue
        if not c.check(close(a, b), "%s: step %d: ours %r, PyTorch %r" % (what, i, a, b)):
            return
        Stats.inexact += 1


def dump(c, args, label, name, params, base_lr, steps, out, extras, metrics, load=None, expect_rc=0):
    cmd = [args.dump, name, json.dumps(params), str(steps), out, "--base-lr", repr(base_lr)]
    if extras.get("betas"):
        cmd.append("--betas")
    if "ctx_total" in extras:
        cmd += ["--total-steps", str(extras["ctx_total"])]
    if metrics:
        cmd += ["--metrics", ",".join(repr(float(m)) for m in metrics)]
    if load:
        cmd += ["--load", load]
    r = sgtest.run(cmd, timeout=60)
    if not c.check(r.rc == expect_rc, "%s: expected exit %d: %s" % (label, expect_rc, r.describe())):
        return None
    if expect_rc != 0:
        return r
    return torch.load(out)


def check_case(c, args, case):
    label, name, params, base_lr, n, k, extras = case
    metrics = extras.get("metrics")
    betas = extras.get("betas", False)
    kwargs = py_kwargs(params, extras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_lrs, ref_moms, ref_sds, ref_keys, ref_added = py_run(
            name, kwargs, base_lr, n + k, metrics, betas, {n, n + k})
    wd = os.path.join(args.workdir, label)
    os.makedirs(wd, exist_ok=True)

    # 1. Our first N steps and state.
    ours_path = os.path.join(wd, "ours.pth")
    ours = dump(c, args, label + ": dump", name, params, base_lr, n, ours_path, extras, metrics[:n] if metrics else None)
    if ours is None:
        return
    compare_seq(c, ours["lrs"], ref_lrs[:n + 1], label + ": lrs")
    compare_seq(c, ours["momentums"], ref_moms[:n + 1], label + ": momentum")
    sd = ours["state_dict"]
    c.eq(sd, dict(ref_sds[n]), label + ": state_dict after %d steps" % n)
    expected_order = [("_anneal_func_type" if key == "anneal_func" else key) for key in ref_keys[n]
                      if key != "_scale_fn_ref"]
    c.check(list(sd.keys()) == expected_order, "%s: state_dict key order %s, PyTorch %s" % (
        label, list(sd.keys()), expected_order))
    c.eq(dict(ours["param_group_entries"]), ref_added, label + ": param group entries")

    # 2. Python continues from ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_optimizer(base_lr, betas)
        sched = getattr(L, name)(opt, **kwargs)
        opt.param_groups[0]["lr"] = ours["lrs"][-1]     # as a restored optimizer has it
        try:
            sched.load_state_dict(sd)
        except Exception as e:  # noqa: BLE001
            c.fail("%s: Python's load_state_dict(ours) raised %r" % (label, e))
            return
        lrs, moms = [opt.param_groups[0]["lr"]], [momentum_of(name, sched, opt)]
        for i in range(n, n + k):
            py_step(name, sched, opt, metrics[i] if metrics else None)
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(momentum_of(name, sched, opt))
    compare_seq(c, lrs, ref_lrs[n:], label + ": Python continuing from ours: lrs")
    if name in CYCLES_MOMENTUM:
        compare_seq(c, moms[1:], ref_moms[n + 1:], label + ": Python continuing from ours: momentum")
    c.eq(dict(ours_form(sched.state_dict())), dict(ref_sds[n + k]), label + ": Python continuing from ours: final state")

    # 3. Ours continues from Python's saved state dict, and from our own file.
    py_path = os.path.join(wd, "python.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = make_optimizer(base_lr, betas)
        sched = getattr(L, name)(opt, **kwargs)
        for i in range(n):
            py_step(name, sched, opt, metrics[i] if metrics else None)
        saved = dict(sched.state_dict())
    # Our reader is safe: it refuses collections.Counter and a bound method (which pickles
    # the whole scheduler and optimizer), so a Python user saves these two as we write them;
    # CyclicLR's weak method cannot be pickled at all in PyTorch 1.13.
    if "milestones" in saved:
        saved["milestones"] = dict(saved["milestones"])
    saved.pop("anneal_func", None)
    saved.pop("_scale_fn_ref", None)
    torch.save(saved, py_path)
    # (Ours continuing from our own state is covered by test_torch_scheduler.cpp.)
    for what, src in (("from Python's state", py_path),):
        out = os.path.join(wd, "cont_py.pth")
        cont = dump(c, args, "%s: --load %s" % (label, what), name, params, base_lr, k, out, extras,
                    metrics[n:n + k] if metrics else None, load=src)
        if cont is None:
            continue
        compare_seq(c, cont["lrs"], ref_lrs[n:], "%s: ours continuing %s: lrs" % (label, what))
        if name in CYCLES_MOMENTUM:
            compare_seq(c, cont["momentums"][1:], ref_moms[n + 1:], "%s: ours continuing %s: momentum" % (label, what))
        c.eq(cont["state_dict"], dict(ref_sds[n + k]), "%s: ours continuing %s: final state" % (label, what))


def check_refusals(c, args):
    out = os.path.join(args.workdir, "refused.pth")
    # (what, name, params, metrics, betas, PyTorch 1.13 raises too)
    bad = [
        ("unknown parameter", "StepLR", {"step_size": 3, "gammma": 0.1}, None, False, True),
        ("missing step_size", "StepLR", {}, None, False, True),
        ("factor >= 1", "ReduceLROnPlateau", {"factor": 1.0}, [1.0], False, True),
        ("bad mode", "ReduceLROnPlateau", {"mode": "median"}, [1.0], False, True),
        ("bad anneal_strategy", "OneCycleLR", {"max_lr": 0.1, "total_steps": 5, "anneal_strategy": "exp"}, None,
         False, True),
        ("OneCycleLR past total_steps", "OneCycleLR", {"max_lr": 0.1, "total_steps": 5}, None, False, False),
        ("unknown scheduler", "LambdaLR", {}, None, False, False),
        ("missing gamma", "ExponentialLR", {}, None, False, True),
        ("ConstantLR factor > 1", "ConstantLR", {"factor": 1.5}, None, False, True),
        ("ConstantLR factor < 0", "ConstantLR", {"factor": -0.1}, None, False, True),
        ("LinearLR start_factor > 1", "LinearLR", {"start_factor": 1.5}, None, False, True),
        ("LinearLR start_factor 0", "LinearLR", {"start_factor": 0.0}, None, False, False),  # 1.13 divides by 0
        ("LinearLR end_factor < 0", "LinearLR", {"end_factor": -0.5}, None, False, True),
        ("missing T_0", "CosineAnnealingWarmRestarts", {}, None, False, True),
        ("T_0 0", "CosineAnnealingWarmRestarts", {"T_0": 0}, None, False, True),
        ("T_0 not an int", "CosineAnnealingWarmRestarts", {"T_0": 2.5}, None, False, True),
        ("T_mult 0", "CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}, None, False, True),
        ("missing max_lr", "CyclicLR", {"base_lr": 0.01}, None, False, True),
        ("CyclicLR bad mode", "CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "mode": "sine"}, None, False, True),
        ("CyclicLR max_lr per group", "CyclicLR", {"base_lr": 0.01, "max_lr": [0.1, 0.2]}, None, False, True),
        ("CyclicLR step_size_up 0", "CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 0}, None,
         False, True),
        ("CyclicLR scale_mode without scale_fn", "CyclicLR",
         {"base_lr": 0.01, "max_lr": 0.1, "scale_mode": "iterations"}, None, False, False),
        ("CyclicLR momentum with betas", "CyclicLR", {"base_lr": 0.01, "max_lr": 0.1}, None, True, True),
    ]
    for what, name, params, metrics, betas, py_raises in bad:
        steps = 6 if "past" in what else 1
        r = dump(c, args, "refuses %s" % what, name, params, 0.1, steps, out, {"betas": betas}, metrics, expect_rc=1)
        if r is not None:
            c.check("sg_scheduler_dump:" in r.err, "refuses %s: no message: %s" % (what, r.describe()))
            c.check("past" in what or re.search(r"'\w+'", r.err) is not None,
                    "refuses %s: the message names no argument: %s" % (what, r.err))
        if py_raises:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    getattr(L, name)(make_optimizer(0.1, betas), **params)
                c.fail("refuses %s: PyTorch accepts it" % what)
            except (ValueError, TypeError, ZeroDivisionError):
                pass
    # PyTorch refuses the same (and steps OneCycleLR exactly total_steps times after the first).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = L.OneCycleLR(make_optimizer(0.1, False), max_lr=0.1, total_steps=5)
        for _ in range(5):
            s.step()
        try:
            s.step()
            c.fail("PyTorch OneCycleLR stepped past total_steps (the refusal above is wrong)")
        except ValueError:
            pass
    ok = dump(c, args, "OneCycleLR exactly total_steps steps", "OneCycleLR", {"max_lr": 0.1, "total_steps": 5},
              0.1, 5, out, {}, None)
    c.check(ok is not None, "OneCycleLR: 5 steps after construction must be allowed (as PyTorch)")


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump",))  # --dump: the built sg_scheduler_dump
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_torch_scheduler")
    for case in CASES:
        check_case(c, args, case)
    check_refusals(c, args)
    print("rates: %d exactly equal, %d within %g relative" % (Stats.exact, Stats.inexact, REL_TOL))
    c.report()


if __name__ == "__main__":
    main()
