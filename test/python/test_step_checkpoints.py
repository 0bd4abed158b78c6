"""Checkpoints inside an epoch: training_hyperparams.ckpt_every_n_steps / ckpt_every_n_minutes.

- A run that saves ckpt_latest.pth after every step ends bit-identical (net, ema_net and
  optimizer state, hashes from sg-ckpt-inspect) to the same run saving only at epoch ends:
  saving perturbs nothing.
- kill -9 at three positions (read back from the checkpoint, inside epoch 1 twice and inside
  epoch 2), each time resumed from the position the last step checkpoint holds; one segment
  saves by time (every 0.001 minutes) instead of by steps. The resumed run says where it
  continued (a batch inside an epoch, at or past the position seen), every .pth left
  verifies, and the last segment ends bit-identical to the uninterrupted run.
- Two workers (sg-train starting them, multi_gpu=DDP num_gpus=2) saving every 5 steps: killed
  inside epoch 1, resumed as two workers, the run ends as an uninterrupted 2-worker run.
- save_ckpt_every_n_epochs 1 with keep_last_n_epoch_ckpts 2 and save_ckpt_epoch_list [1]:
  after 5 epochs ckpt_epoch_1 (listed), _4 and _5 are left; continued in place from
  ckpt_epoch_4.pth (ckpt_name) to 7 epochs: _1, _4 (resumed from), _6 and _7.
- A negative value, step checkpoints with save_model: False, or keep_last_n_epoch_ckpts
  without save_ckpt_every_n_epochs is one line and exit 2.
"""

import os
import signal

import sgtest
from step_runs import Env, kill_inside, resumed_at, unverified

def check_same_as_epoch_saves(checker, env, reference):
    r = env.train("every_step", "+training_hyperparams.ckpt_every_n_steps=1")
    if checker.check(r.rc == 0, "saving every step: %s" % r.describe()):
        checker.eq(env.state_hash("every_step"), reference, "saving every step: the run's end against epoch-end saves only")


def check_kills(checker, torch, env, reference):
    segments = [((0, 30), ["+training_hyperparams.ckpt_every_n_steps=1"]),
                ((0, 150), ["+training_hyperparams.ckpt_every_n_minutes=0.001"]),
                ((1, 60), ["+training_hyperparams.ckpt_every_n_steps=1"])]
    last = None
    for i, (at, overrides) in enumerate(segments):
        seen, r = kill_inside(torch, env, "killed", at, overrides + (["resume=True"] if i else []))
        if not checker.check(seen is not None and r.rc == -signal.SIGKILL,
                             "kill %d: a position inside an epoch at or past %s before the kill: %s / %s" % (
                                 i, at, seen, r.describe())):
            return
        if last is not None:
            checker.check(resumed_at(r) >= (last[0] + 1, last[1] + 1),
                          "kill %d: the run continued inside an epoch, at or past %s: %s" % (
                              i, last, [line for line in r.err.splitlines() if "resumed" in line or "run dir" in line]))
        last = seen
        checker.eq(unverified(env, "killed"), [], "after kill %d, files that do not verify" % i)
    r = env.train("killed", "+training_hyperparams.ckpt_every_n_steps=1", "resume=True")
    checker.check(r.rc == 0 and resumed_at(r) >= (last[0] + 1, last[1] + 1),
                  "the last resume continues at or past %s: %s" % (last, r.describe()))
    checker.eq(env.state_hash("killed"), reference, "killed 3 times and resumed: the run's end against the uninterrupted run")


def check_two_workers(checker, torch, env):
    ddp = ["+multi_gpu=DDP", "+num_gpus=2", "+training_hyperparams.ckpt_every_n_steps=5"]
    straight = env.train("ddp_straight", *ddp)
    if not checker.check(straight.rc == 0, "2 workers saving every 5 steps: %s" % straight.describe()):
        return
    seen, r = kill_inside(torch, env, "ddp_killed", (0, 40), ddp)
    if not checker.check(seen is not None and seen[1] % 5 == 0 and r.rc == -signal.SIGKILL,
                         "2 workers: a position every 5 steps before the kill: %s / %s" % (seen, r.describe())):
        return
    resumed = env.train("ddp_killed", *ddp, "resume=True")
    checker.check(resumed.rc == 0 and resumed_at(resumed) >= (seen[0] + 1, seen[1] + 1),
                  "2 workers resumed inside the epoch, at or past %s: %s" % (seen, resumed.describe()))
    checker.eq(env.state_hash("ddp_killed"), env.state_hash("ddp_straight"),
               "2 workers killed and resumed: the run's end against the uninterrupted 2-worker run")


def check_epoch_checkpoints(checker, env):
    tiny = ["dataset_params.synthetic.train_size=64", "training_hyperparams.max_train_batches=2",
            "+training_hyperparams.save_ckpt_every_n_epochs=1", "+training_hyperparams.keep_last_n_epoch_ckpts=2",
            "training_hyperparams.save_ckpt_epoch_list=[1]"]
    r = env.train("epochs", *tiny, "epochs=5")
    dirs = env.run_dirs("epochs")
    if not checker.check(r.rc == 0 and len(dirs) == 1, "5 epochs with periodic checkpoints: %s" % r.describe()):
        return

    def epoch_files():
        return sorted(n for n in os.listdir(dirs[0]) if n.startswith("ckpt_epoch_"))

    checker.eq(epoch_files(), ["ckpt_epoch_1.pth", "ckpt_epoch_4.pth", "ckpt_epoch_5.pth"], "after 5 epochs, keeping 2")
    r = env.train("epochs", *tiny, "epochs=7", "training_hyperparams.run_id=" + os.path.basename(dirs[0]),
                  "training_hyperparams.ckpt_name=ckpt_epoch_4.pth")
    checker.check(r.rc == 0 and "ckpt_epoch_4.pth at epoch 5" in r.err, "continued from ckpt_epoch_4.pth: %s" % r.describe())
    checker.eq(epoch_files(), ["ckpt_epoch_1.pth", "ckpt_epoch_4.pth", "ckpt_epoch_6.pth", "ckpt_epoch_7.pth"],
               "after 7 epochs continued from epoch 4, keeping 2")


def check_refusals(checker, env):
    for overrides, needle in ((["+training_hyperparams.ckpt_every_n_steps=-1"], "ckpt_every_n_steps: must be 0"),
                              (["+training_hyperparams.ckpt_every_n_minutes=-2"], "ckpt_every_n_minutes: must be 0"),
                              (["+training_hyperparams.ckpt_every_n_steps=3", "training_hyperparams.save_model=False"],
                               "nothing is saved with save_model: False"),
                              (["+training_hyperparams.keep_last_n_epoch_ckpts=2"], "no periodic checkpoints to keep")):
        r = env.train("refused", *overrides)
        checker.check(r.rc == 2 and len(r.err.strip().splitlines()) == 1 and needle in r.err,
                      "%s: %s" % (overrides, r.describe()))
    checker.eq(env.run_dirs("refused"), [], "refused runs made a run directory")


def main():
    args = sgtest.parse_args(__doc__, paths=("train",))
    torch = sgtest.import_torch()
    checker = sgtest.Checker("test_step_checkpoints")
    env = Env(args, sgtest.fresh_dir(args.workdir))
    straight = env.train("straight")
    if checker.check(straight.rc == 0, "the uninterrupted run: %s" % straight.describe()):
        reference = env.state_hash("straight")
        check_same_as_epoch_saves(checker, env, reference)
        check_kills(checker, torch, env, reference)
    check_two_workers(checker, torch, env)
    check_epoch_checkpoints(checker, env)
    check_refusals(checker, env)
    checker.report()


if __name__ == "__main__":
    main()
