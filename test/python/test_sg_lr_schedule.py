"""SuperGradients' own LR policies: our rates against SG's callbacks re-expressed here.

SG 3.7.1 sets the rate from phase callbacks (training/utils/callbacks/callbacks.py):
LinearEpochLRWarmup at each epoch's start, LinearBatchLRWarmup at each batch's start,
Cosine/Poly/ExponentialLRScheduler after each optimizer step (Phase.TRAIN_BATCH_STEP, when
(global batch + 1) % batch_accumulate == 0), StepLRScheduler at each epoch's end. The
reference below replays that event order over the epochs with those classes' formulas, and
records the rate each batch trains with. For each case, `sg_scheduler_dump --sg-policy`
(our recipe reader and LrSchedule::at) must give the same rate for every batch (within
1e-12 relative: np.cos against std::cos), and bad values are refused with one line naming
the key.
"""

import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

REL_TOL = 1e-12

# SG's default_train_params for the keys the schedule reads.
DEFAULTS = {"lr_mode": None, "lr_warmup_epochs": 0, "lr_warmup_steps": 0, "lr_cooldown_epochs": 0,
            "warmup_initial_lr": None, "step_lr_update_freq": None, "cosine_final_lr_ratio": 0.01,
            "warmup_mode": "LinearEpochLRWarmup", "lr_updates": [], "lr_decay_factor": 0.1, "batch_accumulate": 1}


class SgReference:
    """The rate SG's callbacks leave for each batch; `t` is SG's training_params."""

    def __init__(self, t, n):
        self.t, self.n, self.lr = t, n, t["initial_lr"]
        mode = {"step": "StepLRScheduler", "cosine": "CosineLRScheduler", "poly": "PolyLRScheduler",
                "exp": "ExponentialLRScheduler"}.get(t["lr_mode"], t["lr_mode"])
        self.mode = mode
        warmup = {"linear_epoch_step": "LinearEpochLRWarmup",
                  "linear_batch_step": "LinearBatchLRWarmup"}.get(t["warmup_mode"], t["warmup_mode"])
        self.warmup = warmup
        init, w = t["initial_lr"], t["lr_warmup_epochs"]
        if warmup == "LinearEpochLRWarmup":
            self.w_start = t["warmup_initial_lr"] if t["warmup_initial_lr"] is not None else init / (w + 1)
            self.w_step = (init - self.w_start) / w if w > 0 else 0
        if warmup == "LinearBatchLRWarmup":
            self.b_steps = min(t["lr_warmup_steps"], n)
            self.b_rates = np.linspace(start=t["warmup_initial_lr"], stop=init, num=self.b_steps, endpoint=True)
        if mode == "StepLRScheduler":
            self.updates = t["lr_updates"]
            if t["step_lr_update_freq"]:
                m, f = t["max_epochs"] - t["lr_cooldown_epochs"], t["step_lr_update_freq"]
                self.updates = [int(np.ceil(f * x)) for x in range(1, m) if w <= int(np.ceil(f * x)) < m]

    def epoch_start(self, epoch):
        w = self.t["lr_warmup_epochs"]
        if self.warmup == "LinearEpochLRWarmup" and w > 0 and w >= epoch:
            self.lr = self.w_start + epoch * self.w_step

    def batch_start(self, epoch, batch):
        g = batch + epoch * self.n
        if self.warmup == "LinearBatchLRWarmup" and g < self.b_steps:
            self.lr = float(self.b_rates[g])

    def batch_step(self, epoch, batch):
        t, n, init = self.t, self.n, self.t["initial_lr"]
        w, c, m = t["lr_warmup_epochs"], t["lr_cooldown_epochs"], t["max_epochs"]
        in_range = w <= epoch < m - c
        if self.mode == "CosineLRScheduler":
            s = t["lr_warmup_steps"]
            enabled = n * epoch + batch >= s if s > 0 else in_range
            if enabled:
                current = max(0, n * (epoch - w) + batch - s)
                total = n * (m - w - c) - s
                lr = 0.5 * init * (1.0 + np.cos(current / (total + 1) * math.pi))
                self.lr = float(lr * (1 - t["cosine_final_lr_ratio"]) + (init * t["cosine_final_lr_ratio"]))
        elif self.mode == "PolyLRScheduler" and in_range:
            current = (n * (epoch - w) + batch) / t["batch_accumulate"]
            total = n * (m - w - c) / t["batch_accumulate"]
            self.lr = init * pow((1.0 - (current / total)), 0.9)
        elif self.mode == "ExponentialLRScheduler" and in_range:
            current = n * (epoch - w) + batch
            self.lr = init * t["lr_decay_factor"] ** (current / n)

    def epoch_end(self, epoch):
        if self.mode == "StepLRScheduler" and self.t["lr_warmup_epochs"] <= epoch:
            passed = [x for x in self.updates if x <= epoch]
            self.lr = self.t["initial_lr"] * self.t["lr_decay_factor"] ** len(passed)

    def rates(self):
        out = []
        for epoch in range(self.t["max_epochs"]):
            self.epoch_start(epoch)
            row = []
            for batch in range(self.n):
                self.batch_start(epoch, batch)
                row.append(self.lr)
                if (batch + 1 + self.n * epoch) % self.t["batch_accumulate"] == 0:
                    self.batch_step(epoch, batch)
            self.epoch_end(epoch)
            out.append(row)
        return out


# (label, training_hyperparams over DEFAULTS, batches per epoch, how to give them to ours)
# `ours` replaces keys for our reader only (SG's mapping form, aliases), with SG's meaning.
CASES = [
    ("constant", {"max_epochs": 3, "initial_lr": 0.1}, 4, None),
    ("epoch_warmup_constant", {"max_epochs": 5, "initial_lr": 0.3, "lr_warmup_epochs": 2}, 3, None),
    ("step", {"max_epochs": 8, "initial_lr": 0.1, "lr_mode": "StepLRScheduler", "lr_updates": [2, 5, 5],
              "lr_decay_factor": 0.5}, 3, None),
    ("step_warmup", {"max_epochs": 7, "initial_lr": 0.1, "lr_mode": "StepLRScheduler", "lr_updates": [1, 3],
                     "lr_warmup_epochs": 2, "warmup_initial_lr": 1e-6}, 2, None),
    # imagenet_mobilenetv2: lr_updates numpy.arange(2.4, 450, 2.4), fractional epochs
    ("step_fractional", {"max_epochs": 10, "initial_lr": 0.032, "lr_mode": "StepLRScheduler",
                         "lr_updates": [2.4, 4.8, 7.199999999999999, 9.6], "lr_decay_factor": 0.973}, 2, None),
    # imagenet_efficientnet / imagenet_regnetY: step_lr_update_freq 2.4, 3 warm-up epochs from 1e-6
    ("step_freq", {"max_epochs": 20, "initial_lr": 0.016, "lr_mode": "StepLRScheduler", "step_lr_update_freq": 2.4,
                   "lr_decay_factor": 0.97, "lr_warmup_epochs": 3, "warmup_initial_lr": 1e-6}, 2, None),
    ("step_freq_cooldown", {"max_epochs": 20, "initial_lr": 0.016, "lr_mode": "step", "step_lr_update_freq": 2.4,
                            "lr_decay_factor": 0.97, "lr_warmup_epochs": 3, "lr_cooldown_epochs": 4}, 2, None),
    ("step_mapping", {"max_epochs": 6, "initial_lr": 0.2, "lr_mode": "StepLRScheduler", "lr_updates": [2, 4],
                      "lr_decay_factor": 0.3}, 2,
     {"lr_mode": {"StepLRScheduler": {"lr_updates": [2, 4], "lr_decay_factor": 0.3}}}),
    # imagenet_resnet50: cosine with 5 warm-up epochs; the KD recipe adds a cool-down
    ("cosine_warmup", {"max_epochs": 9, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler", "lr_warmup_epochs": 2,
                       "cosine_final_lr_ratio": 0.05}, 5, None),
    ("cosine_cooldown", {"max_epochs": 9, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler", "lr_warmup_epochs": 2,
                         "lr_cooldown_epochs": 3}, 5, None),
    ("cosine_accumulate", {"max_epochs": 4, "initial_lr": 0.1, "lr_mode": "cosine", "batch_accumulate": 3}, 5, None),
    # imagenet_vit: LinearEpochLRWarmup from 0.
    ("cosine_vit", {"max_epochs": 4, "initial_lr": 0.03, "lr_mode": "CosineLRScheduler", "lr_warmup_epochs": 1,
                    "warmup_initial_lr": 0.0, "warmup_mode": "LinearEpochLRWarmup"}, 4, None),
    # coco2017_yolo_nas: LinearBatchLRWarmup over lr_warmup_steps, then cosine
    ("batch_warmup_cosine", {"max_epochs": 3, "initial_lr": 2e-4, "lr_mode": "CosineLRScheduler",
                             "warmup_mode": "LinearBatchLRWarmup", "warmup_initial_lr": 1e-6, "lr_warmup_steps": 5,
                             "cosine_final_lr_ratio": 0.1}, 7, None),
    ("batch_warmup_capped", {"max_epochs": 3, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler",
                             "warmup_mode": "LinearBatchLRWarmup", "warmup_initial_lr": 1e-3, "lr_warmup_steps": 12},
     5, {"warmup_mode": "linear_batch_step"}),
    ("batch_warmup_with_epochs", {"max_epochs": 5, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler",
                                  "warmup_mode": "LinearBatchLRWarmup", "warmup_initial_lr": 1e-6,
                                  "lr_warmup_steps": 3, "lr_warmup_epochs": 2}, 4, None),
    # coco2017_dekr_pose: lr_warmup_steps with the default LinearEpochLRWarmup
    ("cosine_steps_epoch_warmup", {"max_epochs": 3, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler",
                                   "lr_warmup_steps": 6, "warmup_initial_lr": 1e-6}, 4, None),
    ("poly", {"max_epochs": 5, "initial_lr": 0.1, "lr_mode": "PolyLRScheduler", "lr_warmup_epochs": 1,
              "lr_cooldown_epochs": 1}, 4, None),
    ("poly_accumulate", {"max_epochs": 3, "initial_lr": 0.1, "lr_mode": "poly", "batch_accumulate": 2}, 4, None),
    ("exp", {"max_epochs": 5, "initial_lr": 0.1, "lr_mode": "ExponentialLRScheduler", "lr_decay_factor": 0.8,
             "lr_warmup_epochs": 1, "lr_cooldown_epochs": 1}, 3,
     {"lr_mode": {"ExponentialLRScheduler": {"lr_decay_factor": 0.8}}, "lr_decay_factor": 0.1}),
    ("no_warmup_mode", {"max_epochs": 4, "initial_lr": 0.1, "lr_mode": "CosineLRScheduler", "lr_warmup_epochs": 1,
                        "warmup_mode": None}, 3, None),
]

# SG's mapping form for PyTorch's schedulers, {Name: {arguments, phase, metric_name}}, and
# today's lr_mode + torch_scheduler_params: (label, training_hyperparams, the scheduler and
# the argument names our reader passes on).
TORCH_FORMS = [
    ("mapping", {"lr_mode": {"StepLR": {"step_size": 3, "gamma": 0.5, "phase": "TRAIN_EPOCH_END"}}},
     "StepLR", ["gamma", "phase", "step_size"]),
    ("mapping_batch", {"lr_mode": {"OneCycleLR": {"max_lr": 0.5, "phase": "TRAIN_BATCH_STEP"}}},
     "OneCycleLR", ["max_lr", "phase"]),
    ("mapping_plateau", {"lr_mode": {"ReduceLROnPlateau": {"phase": "VALIDATION_EPOCH_END", "metric_name": "Accuracy"}},
                         "metric_to_watch": "Accuracy"}, "ReduceLROnPlateau", ["metric_name", "phase"]),
    ("flat", {"lr_mode": "ExponentialLR", "torch_scheduler_params": {"gamma": 0.9}}, "ExponentialLR", ["gamma"]),
]

# (label, training_hyperparams over DEFAULTS, the key the one-line error must name)
REFUSALS = [
    ("unknown_warmup", {"warmup_mode": "LinearStepWarmup"}, "training_hyperparams.warmup_mode"),
    ("unknown_mode", {"lr_mode": "StepLRSchedular"}, "training_hyperparams.lr_mode"),
    ("function_mode", {"lr_mode": "FunctionLRScheduler"}, "training_hyperparams.lr_mode"),
    ("two_modes", {"lr_mode": {"StepLR": {"step_size": 1}, "CosineLRScheduler": {}}}, "training_hyperparams.lr_mode"),
    ("mapping_unread_key", {"lr_mode": {"CosineLRScheduler": {"lr_updates": [1]}}},
     "training_hyperparams.lr_mode.CosineLRScheduler.lr_updates"),
    ("step_without_updates", {"lr_mode": "StepLRScheduler"}, "training_hyperparams.lr_updates"),
    ("step_both", {"lr_mode": "StepLRScheduler", "lr_updates": [1], "step_lr_update_freq": 2.4},
     "training_hyperparams.step_lr_update_freq"),
    ("freq_not_positive", {"lr_mode": "StepLRScheduler", "step_lr_update_freq": -1}, "training_hyperparams.step_lr_update_freq"),
    ("freq_without_step", {"lr_mode": "CosineLRScheduler", "step_lr_update_freq": 2}, "training_hyperparams.step_lr_update_freq"),
    ("cooldown_with_updates", {"lr_mode": "StepLRScheduler", "lr_updates": [1], "lr_cooldown_epochs": 1},
     "training_hyperparams.lr_cooldown_epochs"),
    ("cooldown_constant", {"lr_cooldown_epochs": 1}, "training_hyperparams.lr_cooldown_epochs"),
    ("negative_warmup", {"lr_warmup_epochs": -1}, "training_hyperparams.lr_warmup_epochs"),
    ("fractional_steps", {"lr_warmup_steps": 2.5}, "training_hyperparams.lr_warmup_steps"),
    ("batch_warmup_no_start", {"warmup_mode": "LinearBatchLRWarmup", "lr_warmup_steps": 3},
     "training_hyperparams.warmup_initial_lr"),
    ("steps_no_effect", {"lr_mode": "PolyLRScheduler", "lr_warmup_steps": 3}, "training_hyperparams.lr_warmup_steps"),
    ("bad_initial_warmup", {"warmup_initial_lr": "low"}, "training_hyperparams.warmup_initial_lr"),
    ("torch_without_phase", {"lr_mode": {"StepLR": {"step_size": 1}}}, "training_hyperparams.lr_mode.StepLR.phase"),
    ("torch_wrong_phase", {"lr_mode": {"StepLR": {"step_size": 1, "phase": "TRAIN_BATCH_STEP"}}},
     "training_hyperparams.lr_mode.StepLR.phase"),
    ("torch_both_forms", {"lr_mode": {"StepLR": {"step_size": 1, "phase": "TRAIN_EPOCH_END"}},
                          "torch_scheduler_params": {"step_size": 2}}, "training_hyperparams.torch_scheduler_params"),
    ("torch_with_warmup", {"lr_mode": "StepLR", "torch_scheduler_params": {"step_size": 2}, "lr_warmup_epochs": 1},
     "training_hyperparams.lr_warmup_epochs"),
    ("torch_with_steps", {"lr_mode": {"StepLR": {"step_size": 2, "phase": "TRAIN_EPOCH_END"}}, "lr_warmup_steps": 4},
     "training_hyperparams.lr_warmup_steps"),
    ("plateau_metric", {"lr_mode": {"ReduceLROnPlateau": {"phase": "VALIDATION_EPOCH_END", "metric_name": "Top5"}},
                        "metric_to_watch": "Accuracy"}, "training_hyperparams.lr_mode.ReduceLROnPlateau.metric_name"),
]


def dump(args, label, hyperparams, batches):
    out = os.path.join(args.workdir, label + ".pth")
    r = sgtest.run([args.dump, "--sg-policy", json.dumps(hyperparams), str(batches), out])
    return r, out


def check_case(c, args, case):
    label, params, batches, ours = case
    sg_params = dict(DEFAULTS, **params)
    expected = SgReference(sg_params, batches).rates()
    r, out = dump(args, label, dict(sg_params, **(ours or {})), batches)
    if not c.check(r.rc == 0, "%s: sg_scheduler_dump failed: %s" % (label, r.describe())):
        return
    got = torch.load(out)["lrs"]
    if not c.check(len(got) == len(expected), "%s: %d epochs, SG %d" % (label, len(got), len(expected))):
        return
    for epoch, (ours_row, sg_row) in enumerate(zip(got, expected)):
        for batch, (a, b) in enumerate(zip(ours_row, sg_row)):
            if not c.check(math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-300),
                           "%s: epoch %d batch %d: ours %r, SG %r" % (label, epoch, batch, a, b)):
                return


def check_torch_form(c, args, form):
    label, params, name, arguments = form
    r, out = dump(args, "torch_" + label, dict(DEFAULTS, max_epochs=2, initial_lr=0.1, **params), 2)
    if c.check(r.rc == 0, "%s: sg_scheduler_dump failed: %s" % (label, r.describe())):
        d = torch.load(out)
        c.eq((d["torch_scheduler"], sorted(d["torch_scheduler_params"])), (name, arguments), label)


def check_refusal(c, args, refusal):
    label, params, key = refusal
    hyperparams = dict(DEFAULTS, max_epochs=4, initial_lr=0.1, **params)
    r, out = dump(args, "refused_" + label, hyperparams, 3)
    lines = r.err.strip().splitlines()
    c.check(r.rc == 1 and len(lines) == 1 and key + ":" in lines[0] and not os.path.exists(out),
            "%s: expected one line naming %s, got %s" % (label, key, r.describe()))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("dump",))  # --dump: the built sg_scheduler_dump
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_sg_lr_schedule")
    for case in CASES:
        check_case(c, args, case)
    for form in TORCH_FORMS:
        check_torch_form(c, args, form)
    for refusal in REFUSALS:
        check_refusal(c, args, refusal)
    c.report()


if __name__ == "__main__":
    main()
