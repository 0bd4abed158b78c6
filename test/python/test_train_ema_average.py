"""sg-train with EMA, averaging of the best models, a PyTorch scheduler and mixed precision.

A short run (synthetic data, torchvision's resnet18) with ema=True average_best_models=True
and a checkpoint every epoch: every file has exactly SG's keys (plus our continuation
state); Python loads `ema_net` and the averaged `net` into torchvision's model; the
averaged weights equal the mean Python computes from the per-epoch `ema_net` snapshots.
A StepLR run: the logged rates equal PyTorch's StepLR, and the saved scheduler state loads
into Python's StepLR. Mixed precision on the CPU: True warns and trains
in float32 (as SG), with mixed_precision_dtype=bfloat16 it autocasts; both save an empty
scaler state.
"""

import glob
import os
import re
import sys

import sgtest
from test_train_run import tensorboard_scalars

SG_KEYS = {"net", "acc", "epoch", "metrics", "packages", "_best_ckpt_metrics", "optimizer_state_dict",
           "scaler_state_dict"}


def train(args, workdir, *overrides):
    cmd = [args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + workdir, "experiment_name=e",
           "architecture=torchvision_resnet18"] + list(overrides)
    return sgtest.run(cmd, timeout=300)


def check_ema_average(args, checker, torch, torchvision):
    workdir = os.path.join(args.workdir, "ema")
    os.makedirs(workdir)
    r = train(args, workdir, "ema=True", "training_hyperparams.average_best_models=True",
              "training_hyperparams.max_epochs=3", "training_hyperparams.save_ckpt_epoch_list=[1,2,3]",
              "training_hyperparams.ema_params.decay=0.9", "training_hyperparams.ema_params.decay_type=constant")
    if not checker.check(r.rc == 0, "ema run failed: %s" % r.describe()):
        return
    run_dir = r.out.strip().splitlines()[-1]
    load = lambda n: torch.load(os.path.join(run_dir, n), weights_only=False)  # noqa: E731
    for name in ["ckpt_latest.pth", "ckpt_best.pth", "ckpt_epoch_1.pth"]:
        c = load(name)
        checker.check(set(c) == SG_KEYS | {"ema_net", "sg_cpp_state"}, "%s keys %s" % (name, sorted(c)))
    # The kept snapshots are recorded in the checkpoint that committed them, and are on disk.
    record = load("ckpt_latest.pth")["sg_cpp_state"]["averaging"]
    kept = sorted(slot["file"] for slot in record["slots"] if slot is not None)
    on_disk = sorted(os.listdir(os.path.join(run_dir, "averaging")))
    checker.check(record["format"] == "sg-averaging" and record["capacity"] == 10 and len(kept) == 3 and kept == on_disk,
                  "averaging record %s, files %s" % (record, on_disk))
    latest = load("ckpt_latest.pth")
    packages = latest["packages"]
    checker.check(sorted(packages) == ["libtorch", "sg-train"] and
                  all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in packages.values()), "packages %s" % packages)
    average = load("average_model.pth")
    checker.eq(list(average), ["net", "acc", "epoch", "metrics", "packages", "_best_ckpt_metrics"],
               "average_model.pth keys (SG's, in SG's order)")
    for key in ("acc", "epoch", "metrics", "packages", "_best_ckpt_metrics"):
        checker.eq(average[key], latest[key], "average_model.pth %s as the epoch's checkpoint" % key)

    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(load("ckpt_latest.pth")["ema_net"], strict=True)
    model.load_state_dict(average["net"], strict=True)

    snapshots = [load("ckpt_epoch_%d.pth" % e)["ema_net"] for e in (1, 2, 3)]
    worst = 0.0
    for key, value in average["net"].items():
        stacked = torch.stack([s[key].double() for s in snapshots])
        expected = stacked.mean(0)
        if value.dtype.is_floating_point:
            worst = max(worst, (value.double() - expected).abs().max().item())
        else:
            checker.check(value.dtype == snapshots[0][key].dtype, "%s dtype %s not kept" % (key, value.dtype))
            checker.check(torch.equal(value, expected.floor().to(value.dtype)), "%s integer mean" % key)
    checker.check(worst <= 1e-6, "averaged weights differ from Python's mean of the snapshots by %g" % worst)

    ema_first, net_first = snapshots[0], load("ckpt_epoch_1.pth")["net"]
    checker.check(any(not torch.equal(ema_first[k], net_first[k]) for k in net_first if net_first[k].is_floating_point()),
                  "ema_net equals net: EMA not applied")
    log = open(glob.glob(os.path.join(run_dir, "log_*.txt"))[0]).read()
    checker.check("average of the 3 best models, valid:" in log, "the averaged model was not validated at the end")


def check_step_lr(args, checker, torch):
    workdir = os.path.join(args.workdir, "steplr")
    os.makedirs(workdir)
    r = train(args, workdir, "training_hyperparams.lr_mode=StepLR", "training_hyperparams.initial_lr=0.1",
              "training_hyperparams.torch_scheduler_params={step_size: 2, gamma: 0.5}",
              "training_hyperparams.max_epochs=5", "training_hyperparams.average_best_models=False")
    if not checker.check(r.rc == 0, "StepLR run failed: %s" % r.describe()):
        return
    run_dir = r.out.strip().splitlines()[-1]
    scalars = tensorboard_scalars(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))[0], checker)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for epoch in range(1, 6):  # the rate used during each epoch, as logged at SG's 0-based epoch step
        logged = scalars.get("LR", {}).get(epoch - 1)
        checker.check(logged is not None and abs(logged - opt.param_groups[0]["lr"]) < 1e-7,
                      "epoch %d LR %s, PyTorch's StepLR %s" % (epoch, logged, opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    c = torch.load(os.path.join(run_dir, "ckpt_latest.pth"), weights_only=False)
    checker.check("torch_scheduler_state_dict" in c, "no torch_scheduler_state_dict: %s" % sorted(c))
    restored = torch.optim.lr_scheduler.StepLR(torch.optim.SGD([param], lr=0.1), step_size=7, gamma=0.1)
    restored.load_state_dict(c["torch_scheduler_state_dict"])
    checker.check(restored.last_epoch == sched.last_epoch and restored.step_size == 2,
                  "scheduler state: last_epoch %s step_size %s" % (restored.last_epoch, restored.step_size))


def check_mixed_precision(args, checker, torch):
    """On the CPU, mixed_precision=True warns once and trains in float32 as SG does: the same
    weights as mixed_precision=False; mixed_precision_dtype=bfloat16 autocasts (other weights)."""
    nets = {}
    bf16 = ["training_hyperparams.mixed_precision=True", "training_hyperparams.mixed_precision_dtype=bfloat16"]
    for value in ("False", "True", "bfloat16"):
        workdir = os.path.join(args.workdir, "amp_" + value)
        os.makedirs(workdir)
        r = train(args, workdir, *(bf16 if value == "bfloat16" else ["training_hyperparams.mixed_precision=" + value]))
        if not checker.check(r.rc == 0, "mixed_precision=%s run failed: %s" % (value, r.describe())):
            return
        warnings = [line for line in r.err.splitlines() if "warning" in line and "mixed_precision" in line]
        checker.check(len(warnings) == (1 if value == "True" else 0),
                      "mixed_precision=%s: warning lines %r" % (value, warnings))
        c = torch.load(os.path.join(r.out.strip().splitlines()[-1], "ckpt_latest.pth"), weights_only=False)
        checker.check(c["scaler_state_dict"] == {}, "CPU mixed precision scaler state %r" % c["scaler_state_dict"])
        checker.check(all(t.dtype in (torch.float32, torch.int64) for t in c["net"].values()), "weights left float32")
        nets[value] = c["net"]
    same = lambda a, b: all(torch.equal(a[k], b[k]) for k in a)  # noqa: E731
    checker.check(same(nets["True"], nets["False"]), "mixed_precision=True on the CPU did not train in float32")
    checker.check(not same(nets["bfloat16"], nets["False"]), "mixed_precision_dtype=bfloat16 trained as float32")
    workdir = os.path.join(args.workdir, "amp_refused")
    os.makedirs(workdir)
    r = train(args, workdir, "training_hyperparams.mixed_precision_dtype=bfloat16")
    checker.check(r.rc == 2 and "training_hyperparams.mixed_precision_dtype:" in r.err and len(r.err.splitlines()) == 1,
                  "mixed_precision_dtype without mixed_precision: %s" % r.describe())


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train",))
    torch = sgtest.import_torch()
    import torchvision
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_train_ema_average")
    check_ema_average(args, checker, torch, torchvision)
    check_step_lr(args, checker, torch)
    check_mixed_precision(args, checker, torch)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
