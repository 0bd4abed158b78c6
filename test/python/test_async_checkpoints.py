"""Checkpoints written in the background: training_hyperparams.async_checkpoint (default True).

- The same run with async_checkpoint True and False leaves bit-identical files: every .pth
  of the run directory (averaging snapshots, average_model.pth, ckpt_best.pth, the listed
  ckpt_epoch_N.pth, ckpt_latest.pth) after 3 epochs with EMA, averaging and an epoch list.
  In both, one epoch's state is one file under all its names (hard links), and the log
  says per epoch what the saves cost the training thread.
- 30 kill -9 at random moments of a run saving ckpt_latest.pth after every step in the
  background, each after the run has saved a position past the previous one: after every
  kill each .pth left verifies; each restart resumes at or past the position seen; the run
  ends bit-identical to the uninterrupted run (net, EMA and optimizer state).
"""

import filecmp
import glob
import os
import random
import signal

import sgtest
from step_runs import Env, kill_inside, resumed_at, unverified

KILLS = 30
LONG = ["epochs=3"]   # 750 steps: room for 30 segments


def run_files(run_dir):
    return sorted(os.path.relpath(f, run_dir) for f in glob.glob(os.path.join(run_dir, "**", "*.pth"), recursive=True))


def check_same_files(checker, env):
    small = ["dataset_params.synthetic.train_size=64", "training_hyperparams.max_train_batches=3", "epochs=3",
             "training_hyperparams.save_ckpt_epoch_list=[1,3]", "training_hyperparams.average_best_models=True"]
    dirs = {}
    for mode in ("True", "False"):
        experiment = "async_" + mode
        r = env.train(experiment, *small, "+training_hyperparams.async_checkpoint=" + mode)
        runs = env.run_dirs(experiment)
        if not checker.check(r.rc == 0 and len(runs) == 1, "async_checkpoint=%s: %s" % (mode, r.describe())):
            return
        dirs[mode] = runs[0]
        costs = [line for line in r.err.splitlines() if line.startswith("checkpoints of epoch ")]
        checker.check(len(costs) == 3 and ("in the background" in costs[0]) == (mode == "True"),
                      "async_checkpoint=%s: a line per epoch on what saving cost: %s" % (mode, costs))
        latest = os.path.join(runs[0], "ckpt_latest.pth")
        checker.check(os.path.samefile(latest, os.path.join(runs[0], "ckpt_epoch_3.pth")),
                      "async_checkpoint=%s: ckpt_latest.pth and ckpt_epoch_3.pth are one file" % mode)
    names = run_files(dirs["True"])
    checker.eq(names, run_files(dirs["False"]), "the files of both runs")
    checker.check(len(names) >= 5, "files to compare: %s" % names)
    differ = [n for n in names if not filecmp.cmp(os.path.join(dirs["True"], n), os.path.join(dirs["False"], n), shallow=False)]
    checker.eq(differ, [], "files that differ between async_checkpoint True and False")


def check_kills(checker, torch, env, reference):
    every_step = LONG + ["+training_hyperparams.ckpt_every_n_steps=1"]
    rng = random.Random(16)
    last = None
    for i in range(KILLS):
        at = (0, 1) if last is None else (last[0], last[1] + 1)
        seen, r = kill_inside(torch, env, "killed", at, every_step + (["resume=True"] if i else []),
                              delay=rng.uniform(0, 0.08))
        if not checker.check(seen is not None and r.rc == -signal.SIGKILL,
                             "kill %d: a position inside an epoch at or past %s before the kill: %s / %s" % (
                                 i, at, seen, r.describe())):
            return
        if last is not None and not checker.check(
                resumed_at(r) >= (last[0] + 1, last[1] + 1),
                "kill %d: the run continued at or past %s: %s" % (i, last, [l for l in r.err.splitlines() if "resumed" in l])):
            return
        last = seen
        if not checker.eq(unverified(env, "killed"), [], "after kill %d, files that do not verify" % i):
            return
    r = env.train("killed", *every_step, "resume=True")
    checker.check(r.rc == 0 and resumed_at(r) >= (last[0] + 1, last[1] + 1),
                  "the last resume continues at or past %s: %s" % (last, r.describe()))
    checker.eq(env.state_hash("killed"), reference,
               "killed %d times while saving in the background, resumed: the run's end against the uninterrupted run" % KILLS)


def main():
    args = sgtest.parse_args(__doc__, paths=("train",))
    torch = sgtest.import_torch()
    checker = sgtest.Checker("test_async_checkpoints")
    env = Env(args, sgtest.fresh_dir(args.workdir))
    check_same_files(checker, env)
    straight = env.train("straight", *LONG)
    if checker.check(straight.rc == 0, "the uninterrupted run: %s" % straight.describe()):
        check_kills(checker, torch, env, env.state_hash("straight"))
    checker.report()


if __name__ == "__main__":
    main()
