"""An epoch's save is one transaction whose commit record is ckpt_latest.pth.

sg_train_faults is sg-train with test/tools/commit_faults.cpp: SG_FAULT=kill:<k> ends the
process with SIGKILL right after its k-th committed write (a crash at that point of the
save sequence), fail:<k> fails the k-th write as a full disk would (exit 3). For every k of
a 3-epoch run (the stored recipe, then each epoch's averaging snapshot, average_model.pth,
ckpt_best.pth, ckpt_epoch_N.pth and ckpt_latest.pth), the interrupted run is resumed and
must end with the same checkpoints, averaging snapshots and average as an uninterrupted
run, and no temp file.
"""

import glob
import json
import os
import signal
import sys

import sgtest

RECIPE = ["--config-name", "test_tiny", "epochs=3", "ema=True", "training_hyperparams.save_ckpt_epoch_list=[2]"]


class Env:
    def __init__(self, args):
        self.args = args

    def cmd(self, program, root, *extra):
        return [program] + RECIPE + ["ckpt_root_dir=" + root, "experiment_name=exp"] + list(extra)

    def run(self, program, root, *extra, env=None):
        return sgtest.run(self.cmd(program, root, *extra), timeout=300, env=env)

    def contents(self, run_dir):
        """{relative name: what sg-ckpt-inspect --json --hash says of it, its path left out}
        for every checkpoint of the run, the averaging snapshots included."""
        out = {}
        files = glob.glob(os.path.join(run_dir, "*.pth")) + glob.glob(os.path.join(run_dir, "averaging", "*"))
        for f in sorted(files):
            r = sgtest.run([self.args.inspect, "--json", "--hash", f], timeout=60)
            if r.rc != 0:
                out[os.path.relpath(f, run_dir)] = "unreadable: " + r.describe()
                continue
            doc = json.loads(r.out)["files"][0]
            doc.pop("path")
            out[os.path.relpath(f, run_dir)] = doc
        return out


def temp_files(run_dir):
    return [os.path.relpath(os.path.join(top, n), run_dir) for top, _, names in os.walk(run_dir)
            for n in names if ".tmp-" in n]


def finished_run(root):
    """The run resume=True continues: the newest holding ckpt_latest.pth."""
    runs = sorted(d for d in glob.glob(os.path.join(root, "exp", "RUN_*")) if os.path.isfile(os.path.join(d, "ckpt_latest.pth")))
    return runs[-1] if runs else None


def check_interrupted(env, checker, root, fault, reference):
    r = env.run(env.args.faults, root, env={"SG_FAULT": fault})
    action = fault.split(":")[0]
    if action == "kill":
        if not checker.check(r.rc == -signal.SIGKILL, "%s: expected death by SIGKILL: %s" % (fault, r.describe())):
            return
    else:
        lines = r.err.strip().splitlines()
        if not checker.check(r.rc == 3 and lines and lines[-1].startswith("sg-train: error: cannot write") and
                             "(injected)" in lines[-1], "%s: expected exit 3 naming the file: %s" % (fault, r.describe())):
            return
        for run_dir in glob.glob(os.path.join(root, "exp", "RUN_*")):   # none when the first write failed
            checker.check(not temp_files(run_dir), "%s: temp files after the failed write: %s" % (fault, temp_files(run_dir)))
    # Continue as a user would: resume the run if it committed an epoch, else start again.
    resumed = finished_run(root) is not None
    r = env.run(env.args.train, root, *(["resume=True"] if resumed else []))
    if not checker.check(r.rc == 0, "%s: the %s failed: %s" % (fault, "resume" if resumed else "new run", r.describe())):
        return
    run_dir = r.out.strip().splitlines()[-1]
    got = env.contents(run_dir)
    checker.check(sorted(got) == sorted(reference), "%s: files %s, uninterrupted run has %s" %
                  (fault, sorted(got), sorted(reference)))
    for name in sorted(reference):
        if name in got:
            checker.eq(got[name], reference[name], "%s: %s" % (fault, name))
    checker.check(not temp_files(run_dir), "%s: temp files left: %s" % (fault, temp_files(run_dir)))


def main():
    args = sgtest.parse_args(__doc__, paths=("train", "faults"))
    work = sgtest.fresh_dir(args.workdir)
    env = Env(args)
    checker = sgtest.Checker("test_save_transaction")

    log = os.path.join(work, "commits.txt")
    ref_root = os.path.join(work, "reference")
    r = env.run(args.faults, ref_root, env={"SG_FAULT_LOG": log})
    if not checker.check(r.rc == 0, "uninterrupted run: %s" % r.describe()):
        checker.report()
    ref_dir = r.out.strip().splitlines()[-1]
    reference = env.contents(ref_dir)
    commits = [os.path.relpath(line.strip(), ref_dir) for line in open(log)]
    # The sequence the faults walk through: the stored recipe, then per epoch the
    # averaging snapshot and average before the checkpoints, ckpt_latest.pth last.
    checker.check(commits[:2] == [".hydra/config.yaml", ".hydra/overrides.yaml"], "sequence starts %s" % commits[:2])
    latest = [i for i, c in enumerate(commits) if c == "ckpt_latest.pth"]
    checker.check(len(latest) == 3, "ckpt_latest.pth written %d times: %s" % (len(latest), commits))
    for i in latest:
        epoch_writes = commits[:i][-4:]
        checker.check(any(c.startswith("averaging/snapshot_") for c in epoch_writes) and "average_model.pth" in epoch_writes,
                      "an epoch's save before its ckpt_latest.pth: %s" % epoch_writes)
    checker.check("ckpt_epoch_2.pth" in commits and "ckpt_best.pth" in commits, "sequence %s" % commits)
    reference_ok = checker.check("ckpt_latest.pth" in reference and "average_model.pth" in reference and
                                 any(n.startswith("averaging/") for n in reference), "reference run files %s" % sorted(reference))
    if reference_ok:
        for k in range(1, len(commits) + 1):
            for action in ("kill", "fail"):
                check_interrupted(env, checker, os.path.join(work, "%s%d" % (action, k)), "%s:%d" % (action, k), reference)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
