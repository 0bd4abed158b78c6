"""Runs of test_tiny that save inside epochs, killed and resumed: shared by
test_step_checkpoints.py and test_async_checkpoints.py."""

import glob
import os
import signal
import time

import sgtest

BASE = ["--config-name", "test_tiny", "dataset_params.synthetic.train_size=4000",
        "training_hyperparams.max_train_batches=null", "training_hyperparams.lr_mode=StepLRScheduler",
        "training_hyperparams.lr_updates=[1]", "training_hyperparams.save_ckpt_epoch_list=[]", "ema=True",
        "training_hyperparams.ema_params.decay_type=threshold", "epochs=2"]


class Env:
    def __init__(self, args, root):
        self.args, self.root = args, root

    def cmd(self, experiment, *overrides):
        return [self.args.train] + BASE + ["ckpt_root_dir=" + self.root, "experiment_name=" + experiment] + list(overrides)

    def train(self, experiment, *overrides):
        return sgtest.run(self.cmd(experiment, *overrides), timeout=300)

    def run_dirs(self, experiment):
        return sorted(glob.glob(os.path.join(self.root, experiment, "RUN_*")))

    def state_hash(self, experiment):
        dirs = self.run_dirs(experiment)
        if len(dirs) != 1:
            return "no single run directory: %s" % dirs
        return sgtest.training_state_hash(self.args.inspect, os.path.join(dirs[0], "ckpt_latest.pth"))[0]


def kill_inside(torch, env, experiment, at, overrides, delay=0.0):
    """Starts the run (resuming it unless it is the first segment), waits until its
    ckpt_latest.pth holds a position inside an epoch at or past `at` (epoch index, batch),
    then `delay` seconds more (a random moment after that state, for tests whose outcome
    must not depend on the moment), kills it and its workers, if any, with SIGKILL;
    returns (the position seen, the Result)."""
    p = sgtest.Started(env.cmd(experiment, *overrides), preexec_fn=os.setsid)
    if not p.wait_for("run directory"):
        os.killpg(p.p.pid, signal.SIGKILL)
        return None, p.finish()
    run_dir = env.run_dirs(experiment)[0]
    latest = os.path.join(run_dir, "ckpt_latest.pth")
    seen = None
    while p.p.poll() is None:   # the checkpoint is replaced atomically: every read is whole
        pos = mid_epoch_position(torch, latest)
        if pos is not None and pos >= at:
            seen = pos
            break
        time.sleep(0.02)
    if seen is not None:
        time.sleep(delay)
    os.killpg(p.p.pid, signal.SIGKILL)   # its session: sg-train and the workers it started
    return seen, p.finish()


def mid_epoch_position(torch, path):
    """(epoch index, next batch) when ckpt_latest.pth holds a position inside an epoch."""
    try:
        ckpt = torch.load(path, map_location="cpu")
    except FileNotFoundError:
        return None
    state = ckpt.get("sg_cpp_state", {})
    batch = state.get("next_batch", 0)
    return (int(ckpt["epoch"]), int(batch)) if batch else None


def resumed_at(r):
    """(epoch, batch), both from 1, of the line `resumed from ... at epoch E, batch B`; (0, 0) if none."""
    for line in r.err.splitlines():
        if line.startswith("resumed from") and ", batch " in line:
            epoch, batch = line.rsplit(" at epoch ", 1)[1].split(", batch ")
            return int(epoch), int(batch)
    return 0, 0




def unverified(env, experiment):
    """The .pth files of the experiment's runs that sg-ckpt-inspect --verify refuses, with why."""
    bad = []
    for f in sorted(glob.glob(os.path.join(env.root, experiment, "RUN_*", "**", "*.pth"), recursive=True)):
        v, _ = sgtest.inspect(env.args.inspect, "--verify", f)
        if v.rc != 0:
            bad.append("%s: %s" % (os.path.relpath(f, env.root), v.describe()))
    return bad
