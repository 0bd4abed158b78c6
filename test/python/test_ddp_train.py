"""sg-train as torchrun's workers: data-parallel training over c10d (Gloo), two processes.

  - a 2-worker run trains (the loss falls) and writes one run directory, from global rank 0
    only: the same files and checkpoint keys as a 1-process run, `net` without a `module.`
    prefix, one log whose lines are not doubled, the run directory once on stdout;
  - its epoch-end checkpoint continues on 1 process, and a 1-process one on 2;
  - 2 workers x batch 8 with SG's `sync_bn: True` equal 1 process x batch 16 after 6 steps:
    every weight and BN statistic within 1e-5 (relative), the accuracies equal; without
    sync_bn they differ (the check can tell);
  - SIGTERM to torchrun stops both workers at the same step (each prints the stop line it
    exits 4 after; torchrun, signalled itself, does not report its workers' statuses), rank 0
    saves the position; continued by sg-resume as 2 workers, the run ends with the weights,
    optimizer state and EMA of an uninterrupted 2-worker run, tensor for tensor; continuing that mid-epoch
    position with 1 process is refused with one line;
  - a worker killed (SIGKILL) after the first epoch's save, under torchrun's --max_restarts 1:
    the restarted workers continue the run their job started (no new run directory) and end
    with the uninterrupted run's weights, tensor for tensor;
  - two nodes on this machine (two torchrun commands, --nnodes 2, one worker each, loopback):
    one run directory, from global rank 0 only, and the 2-worker run's checkpoint;
  - without torchrun, SG's `multi_gpu: DDP` with `num_gpus: 2` makes sg-train start its 2
    workers itself: the same checkpoint as torchrun's 2 workers, tensor for tensor; SIGTERM to
    sg-train stops both at the same step and it exits 4, and sg-resume (the run's recipe asks
    for 2) starts 2 workers that end with the uninterrupted run's weights; a worker killed
    (SIGKILL) makes it exit 137 (the most severe status) naming that worker, the other
    worker fails naming the lost rank, and the checkpoints written stay loadable.
"""

import glob
import os
import signal

import sgtest

# test_tiny with epochs long enough for a signal to land inside one, and a schedule that
# depends only on the position reached (as test_resume.py's).
BASE = ["--config-name", "test_tiny", "dataset_params.synthetic.train_size=2000",
        "training_hyperparams.max_train_batches=null", "training_hyperparams.lr_mode=StepLRScheduler",
        "training_hyperparams.lr_updates=[2]", "ema=True", "training_hyperparams.ema_params.decay_type=threshold"]
STATE = ("net", "ema_net", "optimizer_state_dict")
# Epochs long enough (250 batches per worker) that a SIGTERM sent when the run starts lands
# inside the first.
LONG = ["epochs=2", "dataset_params.synthetic.train_size=8000"]


class Runs:
    def __init__(self, args, root):
        self.args, self.root = args, root

    def cmd(self, workers, experiment, *overrides, torchrun_options=()):
        args = BASE + ["ckpt_root_dir=" + self.root, "experiment_name=" + experiment] + list(overrides)
        if workers == 1:
            return [self.args.train] + args
        return sgtest.torchrun_command(workers, self.args.train, args, options=torchrun_options)

    def run(self, workers, experiment, *overrides):
        return sgtest.run(self.cmd(workers, experiment, *overrides), timeout=300)

    def run_dirs(self, experiment):
        return sorted(glob.glob(os.path.join(self.root, experiment, "RUN_*")))


def files_of(run_dir):
    out = []
    for folder, _, names in os.walk(run_dir):
        for name in names:
            rel = os.path.relpath(os.path.join(folder, name), run_dir)
            out.append("log" if rel.startswith("log_") else "events" if rel.startswith("events.") else rel)
    return sorted(out)


def tensors_equal(torch, a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(tensors_equal(torch, a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(tensors_equal(torch, x, y) for x, y in zip(a, b))
    return a == b


def check_same_state(checker, torch, run_dir, reference_dir, what):
    """ckpt_latest.pth of run_dir holds reference_dir's weights, EMA and optimizer state exactly."""
    got = torch.load(os.path.join(run_dir, "ckpt_latest.pth"), map_location="cpu")
    want = torch.load(os.path.join(reference_dir, "ckpt_latest.pth"), map_location="cpu")
    for key in STATE:
        checker.check(tensors_equal(torch, got[key], want[key]), "%s: %s differs from %s" % (what, key, reference_dir))


def kill_worker_after_epoch_1(checker, cmd, what):
    """Starts cmd (2 workers), SIGKILLs worker 1 once epoch 1's checkpoints are written;
    (worker pids, Result), or None when there were not two workers then."""
    p = sgtest.Started(cmd)
    reached = p.wait_for("new best")   # logged once epoch 1's checkpoints are written
    workers = children(p.p.pid) if reached else []
    if not checker.check(len(workers) == 2, "%s: two workers after epoch 1: %s" % (what, workers)):
        p.signal(signal.SIGKILL)
        p.finish()
        return None
    os.kill(workers[1], signal.SIGKILL)
    return workers, p.finish()


def check_two_workers(checker, torch, runs):
    one = runs.run(1, "one", "epochs=2")
    two = runs.run(2, "two", "epochs=2")
    if not checker.check(one.rc == 0 and two.rc == 0, "1 and 2 workers: %s / %s" % (one.describe(), two.describe())):
        return None
    dirs = runs.run_dirs("two")
    if not checker.check(len(dirs) == 1, "2 workers: one run directory, got %s" % dirs):
        return None
    checker.eq(two.out.split(), dirs, "2 workers: the run directory once on stdout")
    checker.check("rank 0 of 2 (c10d Gloo" in two.err, "2 workers: the log says so: %s" % two.err[-500:])
    checker.eq(files_of(dirs[0]), files_of(runs.run_dirs("one")[0]), "files of a 1- and a 2-worker run")
    log = glob.glob(os.path.join(dirs[0], "log_*.txt"))
    if checker.check(len(log) == 1, "one log file: %s" % log):
        text = open(log[0]).read()
        checker.eq(text.count("epoch 1 train:"), 1, "epoch lines in the log")
    ours = torch.load(os.path.join(dirs[0], "ckpt_latest.pth"), map_location="cpu")
    alone = torch.load(os.path.join(runs.run_dirs("one")[0], "ckpt_latest.pth"), map_location="cpu")
    checker.eq(sorted(ours), sorted(alone), "checkpoint keys of a 1- and a 2-worker run")
    checker.eq(list(ours["net"]), list(alone["net"]), "net keys of a 1- and a 2-worker run")
    checker.check(not any(k.startswith("module.") for k in ours["net"]), "net keys with module.")
    first = float(two.err.split("epoch 1 train:")[1].split("CrossEntropyLoss")[1].split(",")[0])
    last = float(two.err.split("epoch 2 train:")[1].split("CrossEntropyLoss")[1].split(",")[0])
    checker.check(last < first, "2 workers: the training loss falls (%g, then %g)" % (first, last))
    return dirs[0]


def check_world_size_changes(checker, runs, two_dir):
    run_id = os.path.basename(two_dir)
    r = runs.run(1, "two", "epochs=3", "training_hyperparams.run_id=" + run_id)
    checker.check(r.rc == 0 and "resumed from" in r.err, "2-worker checkpoint continued by 1: %s" % r.describe())
    r = runs.run(2, "one", "epochs=3", "resume=True")
    checker.check(r.rc == 0 and "resumed from" in r.err, "1-process checkpoint continued by 2: %s" % r.describe())


def largest_relative_difference(torch, got, want):
    worst = 0.0
    for key, w in want.items():
        if w.is_floating_point():
            worst = max(worst, float((got[key] - w).abs().max() / max(float(w.abs().max()), 1e-12)))
        elif not torch.equal(got[key], w):
            worst = float("inf")
    return worst


def check_sync_bn(checker, torch, runs):
    """test_tiny's own size: 64 images, 3 batches per epoch, 2 epochs (no padding: 64 = 2 x 32).
    At lr 0.01: test_tiny's 0.05 with momentum 0.9 fits these 64 images so sharply that the
    last-bit differences of BatchNorm's statistics (summed over 2 workers or over 16 images
    at once) grow, on some CPUs, to 4e-4 in 6 steps; at 0.01 they stay near 1e-6."""
    tiny = ["dataset_params.synthetic.train_size=64", "training_hyperparams.max_train_batches=3", "lr=0.01"]
    one = runs.run(1, "bn_one", "batch_size=16", *tiny)
    synced = runs.run(2, "bn_synced", "batch_size=8", "+training_hyperparams.sync_bn=True", *tiny)
    local = runs.run(2, "bn_local", "batch_size=8", *tiny)
    if not checker.check(one.rc == 0 and synced.rc == 0 and local.rc == 0, "sync_bn runs: %s / %s / %s" % (
            one.describe(), synced.describe(), local.describe())):
        return
    ckpt = {name: torch.load(os.path.join(runs.run_dirs(name)[0], "ckpt_latest.pth"), map_location="cpu")
            for name in ("bn_one", "bn_synced", "bn_local")}
    synced_diff = largest_relative_difference(torch, ckpt["bn_synced"]["net"], ckpt["bn_one"]["net"])
    local_diff = largest_relative_difference(torch, ckpt["bn_local"]["net"], ckpt["bn_one"]["net"])
    checker.check(synced_diff <= 1e-5, "sync_bn: 2 x 8 differs from 1 x 16 by %g (relative)" % synced_diff)
    checker.check(local_diff > 1e-3, "without sync_bn 2 x 8 is as close to 1 x 16 (%g): the check cannot tell" % local_diff)
    for kind in ("valid", "train"):
        checker.eq(ckpt["bn_synced"]["metrics"][kind]["Accuracy"], ckpt["bn_one"]["metrics"][kind]["Accuracy"],
                   "sync_bn: %s accuracy of 2 x 8 and 1 x 16" % kind)


def check_sigterm(checker, torch, runs):
    straight = runs.run(2, "straight", *LONG)
    if not checker.check(straight.rc == 0, "uninterrupted 2-worker run: %s" % straight.describe()):
        return
    p = sgtest.Started(runs.cmd(2, "stopped", *LONG))
    reached = p.wait_for("run directory")
    p.signal(signal.SIGTERM)
    r = p.finish()
    stops = [line for line in r.err.splitlines() if "stopped by a signal" in line]
    if not checker.check(reached and r.rc != 0 and len(stops) == 2,
                         "SIGTERM: both workers report the stop: %s / the workers said: %s" % (
                             r.describe(), [line for line in r.err.splitlines() if line.startswith("sg-train:")])):
        return
    checker.check(", batch " in stops[0] and stops[0].split("stopped by a signal")[1] == stops[1].split("stopped by a signal")[1],
                  "SIGTERM: both workers at the same step, inside the epoch: %s" % stops)
    refused = runs.run(1, "stopped", *LONG, "resume=True")
    checker.check(refused.rc == 2 and "continue it with 2" in refused.err and len(refused.err.strip().splitlines()) == 1,
                  "mid-epoch position continued by 1 process: %s" % refused.describe())
    resumed = sgtest.run(sgtest.torchrun_command(2, runs.args.resume, ["--experiment-name", "stopped",
                                                                    "--ckpt-root-dir", runs.root]), timeout=300)
    if not checker.check(resumed.rc == 0, "SIGTERM + resume with 2 workers: %s" % resumed.describe()):
        return
    check_same_state(checker, torch, runs.run_dirs("stopped")[0], runs.run_dirs("straight")[0], "SIGTERM + resume")


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def check_restart(checker, torch, runs):
    """After check_sigterm (its uninterrupted run is the reference)."""
    killed = kill_worker_after_epoch_1(
        checker, runs.cmd(2, "restarted", *LONG, torchrun_options=("--max_restarts", "1")), "restart")
    if killed is None:
        return
    _, r = killed
    if not checker.check(r.rc == 0, "restart: the restarted job finishes: %s / %s" % (r.describe(), r.err[-800:])):
        return
    dirs = runs.run_dirs("restarted")
    checker.check(len(dirs) == 1 and "resumed from " + os.path.join(dirs[0], "ckpt_latest.pth") in r.err,
                  "restart: continued the run it started: %s / %s" % (dirs, r.err[-600:]))
    if dirs:
        check_same_state(checker, torch, dirs[0], runs.run_dirs("straight")[0], "restart")


def check_two_nodes(checker, torch, runs):
    """After check_two_workers (its "two" run is the reference: the same global ranks)."""
    args = BASE + ["ckpt_root_dir=" + runs.root, "experiment_name=nodes", "epochs=2"]
    port = sgtest.free_port()
    nodes = [sgtest.Started(sgtest.torchrun_command(1, runs.args.train, args, port=port,
                                                    options=("--nnodes", "2", "--node_rank", str(r))))
             for r in (0, 1)]
    results = [n.finish() for n in nodes]
    if not checker.check(all(r.rc == 0 for r in results), "two nodes: %s" % [r.describe() for r in results]):
        return
    dirs = runs.run_dirs("nodes")
    checker.check(len(dirs) == 1, "two nodes: one run directory: %s" % dirs)
    checker.eq([r.out.split() for r in results], [dirs, []], "two nodes: the run directory on node 0's stdout only")
    checker.check("rank 0 of 2" in results[0].err and results[1].err.count("epoch 1 train") == 0,
                  "two nodes: node 1 logs nothing of the run: %s" % results[1].err[-400:])
    if dirs:
        check_same_state(checker, torch, dirs[0], runs.run_dirs("two")[0], "two nodes")


def check_self_launched(checker, torch, runs):
    """After check_two_nodes and check_sigterm (their "nodes" and "straight" runs are the references:
    the "two" run is continued to 3 epochs by check_world_size_changes)."""
    ddp = ("+multi_gpu=DDP", "+num_gpus=2")
    r = runs.run(1, "self", "epochs=2", *ddp)
    dirs = runs.run_dirs("self")
    if not checker.check(r.rc == 0 and len(dirs) == 1, "multi_gpu=DDP num_gpus=2 alone: %s / %s" % (r.describe(), dirs)):
        return
    checker.eq(r.out.split(), dirs, "self-launched: the run directory once on stdout")
    checker.check("starting 2 workers" in r.err and "rank 0 of 2" in r.err, "self-launched: the log says so: %s" % r.err[-500:])
    nodes = runs.run_dirs("nodes")
    if checker.check(len(nodes) == 1, "self-launched: the two-node run to compare with: %s" % nodes):
        check_same_state(checker, torch, dirs[0], nodes[0], "self-launched against torchrun's 2 workers")

    p = sgtest.Started(runs.cmd(1, "self_stopped", *LONG, *ddp))
    reached = p.wait_for("run directory")
    p.signal(signal.SIGTERM)
    r = p.finish()
    stops = [line for line in r.err.splitlines() if "stopped by a signal" in line]
    if not checker.check(reached and r.rc == 4 and len(stops) == 2,
                         "self-launched SIGTERM: exit 4, both workers stop: %s / %s" % (r.describe(), r.err[-800:])):
        return
    checker.check(stops[0].split("stopped by a signal")[1] == stops[1].split("stopped by a signal")[1],
                  "self-launched SIGTERM: both workers at the same step: %s" % stops)
    resumed = sgtest.run([runs.args.resume, "--experiment-name", "self_stopped", "--ckpt-root-dir", runs.root], timeout=300)
    if checker.check(resumed.rc == 0 and "starting 2 workers" in resumed.err,
                     "sg-resume of a self-launched run starts 2 workers: %s" % resumed.describe()):
        check_same_state(checker, torch, runs.run_dirs("self_stopped")[0], runs.run_dirs("straight")[0],
                         "self-launched SIGTERM + resume")

    killed = kill_worker_after_epoch_1(checker, runs.cmd(1, "self_killed", *LONG, *ddp), "self-launched")
    if killed is None:
        return
    workers, r = killed
    checker.check(r.rc == 128 + signal.SIGKILL and "worker rank 1 (pid %d) was ended by signal 9" % workers[1] in r.err,
                  "a killed worker: the launcher exits 137 naming it: %s / %s" % (r.describe(), r.err[-800:]))
    checker.check("lost rank 1" in r.err, "a killed worker: rank 0 names the lost rank: %s" % r.err[-800:])
    dirs = runs.run_dirs("self_killed")
    if checker.check(len(dirs) == 1, "a killed worker: one run directory: %s" % dirs):
        for name in ("ckpt_latest.pth", "ckpt_best.pth"):
            try:
                ckpt = torch.load(os.path.join(dirs[0], name), map_location="cpu")
            except Exception as e:   # noqa: BLE001 - what torch.load raises on a damaged file
                ckpt = {"error": e}
            checker.check(set(STATE) <= set(ckpt), "a killed worker: %s still loads whole: %s" % (name, sorted(ckpt)))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "resume"))
    torch = sgtest.import_torch()
    checker = sgtest.Checker("test_ddp_train")
    runs = Runs(args, sgtest.fresh_dir(args.workdir))
    two_dir = check_two_workers(checker, torch, runs)
    if two_dir:
        check_two_nodes(checker, torch, runs)
        check_world_size_changes(checker, runs, two_dir)
    check_sync_bn(checker, torch, runs)
    check_sigterm(checker, torch, runs)
    check_restart(checker, torch, runs)
    if two_dir:
        check_self_launched(checker, torch, runs)
    checker.report()


if __name__ == "__main__":
    main()
