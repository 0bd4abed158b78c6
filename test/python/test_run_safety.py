"""A training run keeps to its place and loses nothing, whatever the machine does to it.

- One trainer per run directory: a second sg-train resume or sg-resume on a run in use
  exits 2 naming the holder, and writes nothing.
- Links planted in a run directory (.hydra, averaging/, the log's name, checkpoint and
  temp names) never lead a write or a delete outside it.
- Names from recipes and flags are single path components, checked in full before
  anything is trained; long but valid names work.
- A resume checks what it reads (epoch, position, averaging record).
- check_finite: a diverging run stops with exit 1 before overwriting anything.
- A full disk (a real tmpfs, when this machine lets the test mount one) anywhere is exit 3
  naming the file; the log and events files end on whole records; the run resumes after.
- Signals: SIGHUP stops like SIGTERM; a closed pipe on stdout/stderr does not stop
  training; SIGTERM during start-up ends the program at once.
- Inputs must be regular files: a FIFO as checkpoint_path or dataset file is exit 2 at once.
"""

import glob
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

import sgtest
from test_train_run import tensorboard_scalars

TINY = ["--config-name", "test_tiny"]


class Env:
    def __init__(self, args, root):
        self.args, self.root = args, root

    def train_cmd(self, experiment, *overrides, program=None):
        return [program or self.args.train] + TINY + ["ckpt_root_dir=" + self.root, "experiment_name=" + experiment] + \
            list(overrides)

    def train(self, experiment, *overrides, timeout=300):
        return sgtest.run(self.train_cmd(experiment, *overrides), timeout=timeout)


def last_line(r):
    return r.out.strip().splitlines()[-1] if r.out.strip() else ""


def one_error_line(checker, r, program, needles, what):
    """Exit 2 (or the given code), exactly one `<program>: error:` line holding every needle."""
    lines = [l for l in r.err.strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith(program + ": error:")]
    ok = checker.check(len(errors) == 1 and all(n in errors[0] for n in needles),
                       "%s: expected one '%s: error:' line with %s: %s" % (what, program, needles, r.describe()))
    return ok


def file_states(path):
    """{relative path: (bytes, mtime)} of every file under path (links not followed), but
    the run's lock file, which names its latest holder."""
    out = {}
    for top, dirs, names in os.walk(path):
        for n in names + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            if n == ".lock":
                continue
            full = os.path.join(top, n)
            st = os.lstat(full)
            out[os.path.relpath(full, path)] = (os.readlink(full) if os.path.islink(full) else open(full, "rb").read(),
                                                st.st_mtime_ns)
    return out


def pth_states(run_dir):
    return {k: v for k, v in file_states(run_dir).items() if k.endswith(".pth")}


def epoch_of(env, checkpoint):
    r = sgtest.run([env.args.inspect, "--json", checkpoint], timeout=60)
    return json.loads(r.out)["files"][0]["scalars"]["epoch"]


def wait_until_stopped(pid):
    """Waits for the kernel to report every thread of pid stopped (a SIGSTOP is delivered
    asynchronously, and a thread still running could rename one more file)."""
    while True:
        states = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:   # a thread that has just ended
                pass
        if all(s == "T" for s in states):
            return
        time.sleep(0.01)


def run_dirs(root, experiment):
    return sorted(glob.glob(os.path.join(root, experiment, "RUN_*")))


# ---------------------------------------------------------------------------------------

def check_lock(env, checker):
    first = sgtest.Started(env.train_cmd("lock", "epochs=100000"))
    # Epoch 3's line comes after epoch 2's save began, which waited for epoch 1's background
    # write: from then on the run holds a ckpt_latest.pth, so the others reach its lock.
    if not first.wait_for("epoch 3 train"):
        checker.fail("lock: the first run ended before its third epoch: %s" % first.finish().describe())
        return
    run_dir = run_dirs(env.root, "lock")[0]
    # The holder is stopped while the others are refused: it keeps its lock, and whatever the
    # run folder holds then is the holder's, however far its background saves had got.
    first.signal(signal.SIGSTOP)
    wait_until_stopped(first.p.pid)

    def names():
        return sorted(n for n in os.listdir(run_dir) if ".tmp-" not in n)

    before = names()
    second = env.train("lock", "epochs=100000", "resume=True")
    if checker.check(second.rc == 2, "lock: a second trainer on the run: %s" % second.describe()):
        one_error_line(checker, second, "sg-train", ["is in use by sg-train", "pid %d" % first.p.pid, run_dir],
                       "lock: second sg-train")
    resume = sgtest.run([env.args.resume, "--experiment-name", "lock", "--ckpt-root-dir", env.root], timeout=300)
    if checker.check(resume.rc == 2, "lock: sg-resume on the run: %s" % resume.describe()):
        one_error_line(checker, resume, "sg-resume", ["is in use by sg-train", "pid %d" % first.p.pid], "lock: sg-resume")
    checker.check(names() == before, "lock: the refused trainers added files: %s -> %s" % (before, names()))
    first.signal(signal.SIGCONT)
    first.signal(signal.SIGTERM)
    r = first.finish()
    checker.check(r.rc == 4, "lock: the holder after SIGTERM: %s" % r.describe())
    after = env.train("lock", "epochs=%d" % (epoch_of(env, os.path.join(run_dir, "ckpt_latest.pth")) + 1), "resume=True")
    checker.check(after.rc == 0 and last_line(after) == run_dir, "lock: released with its holder: %s" % after.describe())


def check_planted_links(env, checker, work):
    first = env.train("links", "epochs=1")
    if not checker.check(first.rc == 0, "links: first run: %s" % first.describe()):
        return
    run_dir = last_line(first)
    victims = os.path.join(work, "victims")
    os.makedirs(victims)
    for n in ("config.yaml", "overrides.yaml", "snapshot_0.pth", "victim.txt", "best.txt", "latest.txt", "temp.txt"):
        with open(os.path.join(victims, n), "w") as f:
            f.write("not the run's: " + n)
    victims_before = file_states(victims)

    def resume_refused(what, needles):
        r = env.train("links", "epochs=2", "resume=True")
        if checker.check(r.rc == 2, "links: %s: expected exit 2: %s" % (what, r.describe())):
            one_error_line(checker, r, "sg-train", needles, "links: " + what)
        checker.check(file_states(victims) == victims_before, "links: %s: a file outside the run changed" % what)

    for sub in (".hydra", "averaging"):
        real = os.path.join(run_dir, sub)
        os.rename(real, real + ".real")
        os.symlink(victims, real)
        resume_refused(sub + " is a link", [sub, "symbolic link"])
        os.remove(real)
        os.rename(real + ".real", real)

    # The log file's name is log_<local time>.txt: links for the next ten minutes of names.
    now = time.time()
    planted = []
    for dt in range(600):
        name = os.path.join(run_dir, time.strftime("log_%b%d_%H_%M_%S.txt", time.localtime(now + dt)))
        if not os.path.lexists(name):
            os.symlink(os.path.join(victims, "victim.txt"), name)
            planted.append(name)
    resume_refused("log file is a link", ["log_", "symbolic link"])
    for name in planted:
        os.remove(name)

    # Links at checkpoint and temp names are replaced or removed themselves, never followed.
    best, latest = os.path.join(run_dir, "ckpt_best.pth"), os.path.join(run_dir, "ckpt_latest.pth")
    os.remove(best)
    os.symlink(os.path.join(victims, "best.txt"), best)
    shutil.copy(latest, os.path.join(work, "latest.pth"))
    os.remove(latest)
    os.symlink(os.path.join(work, "latest.pth"), latest)
    temp_link = os.path.join(run_dir, ".ckpt_latest.pth.tmp-99999999-0")
    os.symlink(os.path.join(victims, "temp.txt"), temp_link)
    r = env.train("links", "epochs=2", "resume=True")
    checker.check(r.rc == 0, "links: resume with links at checkpoint names: %s" % r.describe())
    checker.check(file_states(victims) == victims_before, "links: a file outside the run changed")
    checker.check(not os.path.islink(latest) and os.path.isfile(latest), "links: ckpt_latest.pth is still a link")
    checker.check(not os.path.lexists(temp_link), "links: the temp-named link was not removed")


def check_names(env, checker, work):
    victim = os.path.join(work, "victim")
    with open(victim, "w") as f:
        f.write("mine")
    before = os.stat(victim).st_mtime_ns
    cases = [
        (["training_hyperparams.ckpt_best_name=../../../victim"], "training_hyperparams.ckpt_best_name", "names_best"),
        (["training_hyperparams.ckpt_best_name=ckpt_latest.pth"], "training_hyperparams.ckpt_best_name", "names_latest"),
        (["training_hyperparams.ckpt_name=../x.pth", "resume=True"], "training_hyperparams.ckpt_name", "names_ckpt"),
        (["training_hyperparams.run_id=..", "resume=True"], "training_hyperparams.run_id", "names_run"),
        (["training_hyperparams.ckpt_best_name=" + "b" * 256], "256 bytes long", "names_long"),
    ]
    for overrides, needle, experiment in cases:
        r = env.train(experiment, *overrides)
        if checker.check(r.rc == 2, "names: %s: %s" % (overrides, r.describe())):
            one_error_line(checker, r, "sg-train", [needle], "names: %s" % overrides)
        checker.check(not os.path.exists(os.path.join(env.root, experiment)), "names: %s made a folder" % overrides)
    for name in ("..", ".", "a/b", "x" * 256):
        r = env.train(name)
        if checker.check(r.rc == 2, "names: experiment_name=%r: %s" % (name[:20], r.describe())):
            one_error_line(checker, r, "sg-train", ["experiment_name"], "names: experiment_name=%r" % name[:20])
    escaped = glob.glob(os.path.join(work, "RUN_*")) + glob.glob(os.path.join(env.root, "RUN_*"))
    checker.check(not escaped, "names: runs made outside an experiment folder: %s" % escaped)
    checker.check(open(victim, "rb").read() == b"mine" and os.stat(victim).st_mtime_ns == before, "names: the victim changed")
    for program, flag in ((env.args.resume, "--experiment-name"), (env.args.eval, "--experiment-name")):
        r = sgtest.run([program, flag, "..", "--ckpt-root-dir", env.root], timeout=120)
        name = os.path.basename(program)
        if checker.check(r.rc == 2, "names: %s %s ..: %s" % (name, flag, r.describe())):
            one_error_line(checker, r, name, [flag], "names: %s %s .." % (name, flag))
    # Long names that fit: 244 bytes of experiment name, a 254-byte best checkpoint name.
    long_experiment, long_best = "e" * 244, "b" * 250 + ".pth"
    r = env.train(long_experiment, "training_hyperparams.ckpt_best_name=" + long_best)
    checker.check(r.rc == 0 and os.path.isfile(os.path.join(last_line(r), long_best)),
                  "names: long valid names: %s" % r.describe())


def mutated_resume(env, checker, torch, run_dir, what, mutate, needles, *overrides):
    latest = os.path.join(run_dir, "ckpt_latest.pth")
    original = open(latest, "rb").read()
    c = torch.load(latest, weights_only=False)
    try:
        mutate(c)
    except KeyError as e:
        checker.fail("resume checks: %s: the checkpoint has no %s" % (what, e))
        return
    torch.save(c, latest)
    before = file_states(run_dir)
    r = env.train("checks", "resume=True", *(overrides or ("epochs=3",)))
    if checker.check(r.rc == 2, "resume checks: %s: %s" % (what, r.describe())):
        one_error_line(checker, r, "sg-train", needles, "resume checks: " + what)
    checker.check(file_states(run_dir) == before, "resume checks: %s: the run directory changed" % what)
    with open(latest, "wb") as f:
        f.write(original)


def check_resume_reads(env, checker, torch):
    first = env.train("checks", "epochs=2")
    if not checker.check(first.rc == 0, "resume checks: first run: %s" % first.describe()):
        return
    run_dir = last_line(first)

    def set_epoch(v):
        return lambda c: c.__setitem__("epoch", v)

    def set_state(key, v):
        return lambda c: c["sg_cpp_state"].__setitem__(key, v)

    def counts(c):
        c["sg_cpp_state"]["next_batch"] = 1
        c["sg_cpp_state"]["train_counts"] = {"samples": -5, "top1": 0, "top5": 0, "loss_sum": 1.0}

    def averaging(c):
        c["sg_cpp_state"]["averaging"]["next_serial"] = -1

    mutated_resume(env, checker, torch, run_dir, "epoch -3", set_epoch(-3), ["'epoch' must be a non-negative integer", "-3"])
    mutated_resume(env, checker, torch, run_dir, "epoch 1.5", set_epoch(1.5), ["'epoch' must be a non-negative integer"])
    mutated_resume(env, checker, torch, run_dir, "epoch 7", set_epoch(7), ["epoch 7", "past training_hyperparams.max_epochs 3"])
    mutated_resume(env, checker, torch, run_dir, "next_batch", set_state("next_batch", 10 ** 6), ["next_batch"])
    mutated_resume(env, checker, torch, run_dir, "train_counts", counts, ["train_counts.samples"])
    mutated_resume(env, checker, torch, run_dir, "averaging record", averaging, ["averag", "next_serial"])
    # At max_epochs: nothing to train, and it says so.
    before = pth_states(run_dir)
    r = env.train("checks", "resume=True", "epochs=2")
    checker.check(r.rc == 0 and "nothing to train" in r.err, "resume checks: a finished run: %s" % r.describe())
    checker.check(pth_states(run_dir) == before, "resume checks: a finished run's checkpoints changed")


def check_finite(env, checker):
    first = env.train("finite", "epochs=1")
    if not checker.check(first.rc == 0, "check_finite: first run: %s" % first.describe()):
        return
    run_dir = last_line(first)
    before = pth_states(run_dir)
    r = env.train("finite", "epochs=3", "resume=True", "training_hyperparams.initial_lr=1e30")
    if checker.check(r.rc == 1, "check_finite: a diverging resume: %s" % r.describe()):
        one_error_line(checker, r, "sg-train", ["the training loss is", "at epoch 2"], "check_finite")
    checker.check(pth_states(run_dir) == before, "check_finite: checkpoints changed by the diverged run")
    r = env.train("finite", "epochs=3", "resume=True", "training_hyperparams.initial_lr=1e30",
                  "training_hyperparams.check_finite=False")
    checker.check(r.rc == 0, "check_finite=False trains on: %s" % r.describe())


def events_whole(path):
    """True if the events file is a sequence of whole TFRecords (no partial record)."""
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        if i + 12 > len(data):
            return False
        (length,) = struct.unpack("<Q", data[i:i + 8])
        i += 16 + length
    return i == len(data)


def kind_of_file(relative):
    """What a failed write named, by kind: log, events, recipe, averaging, records or checkpoint."""
    for prefix, kind in (("log_", "log"), ("events.out", "events"), (".hydra", "recipe"), ("averaging", "averaging"),
                         ("metrics.csv", "records"), ("steps.csv", "records"), ("report.html", "records")):
        if relative.startswith(prefix):
            return kind
    return "checkpoint"


def check_disk_full(env, checker, work):
    mount = os.path.join(work, "tmpfs")
    os.makedirs(mount)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount], stderr=subprocess.DEVNULL).returncode:
        print("test_run_safety: SKIP the full-disk cases: this machine does not let the test mount a tmpfs")
        return
    try:
        root = os.path.join(mount, "ckpts")
        small = Env(env.args, root)
        first = small.train("full", "epochs=1")
        if not checker.check(first.rc == 0, "disk full: first run: %s" % first.describe()):
            return
        run_dir = last_line(first)
        named = set()
        filler = os.path.join(mount, "filler")
        epochs = 1
        for free_kb in (0, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384, 512):
            st = os.statvfs(mount)
            with open(filler, "wb") as f:
                f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - free_kb * 1024))
            r = small.train("full", "epochs=%d" % (epochs + 5), "resume=True")
            os.remove(filler)
            if r.rc == 0:
                epochs += 5
                continue
            if checker.check(r.rc == 3, "disk full (%d KB free): %s" % (free_kb, r.describe())):
                if one_error_line(checker, r, "sg-train", ["cannot write", run_dir], "disk full (%d KB free)" % free_kb):
                    line = [l for l in r.err.splitlines() if l.startswith("sg-train: error:")][0]
                    named.add(kind_of_file(line[line.index(run_dir) + len(run_dir) + 1:].split(":")[0]))
            # What the failed run left must all be whole: the earlier files, or complete new saves.
            for name in pth_states(run_dir):
                r2 = sgtest.run([env.args.inspect, "--verify", os.path.join(run_dir, name)], timeout=60)
                checker.check(r2.rc == 0, "disk full (%d KB free): %s does not verify: %s" % (free_kb, name, r2.describe()))
            for ev in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
                checker.check(events_whole(ev), "disk full (%d KB free): %s ends in a partial record" %
                              (free_kb, os.path.basename(ev)))
            for log in glob.glob(os.path.join(run_dir, "log_*.txt")):
                text = open(log, "rb").read()
                checker.check(not text or text.endswith(b"\n"), "disk full: %s ends mid-line" % os.path.basename(log))
            temps = [n for _, _, ns in os.walk(run_dir) for n in ns if ".tmp-" in n]
            checker.check(not temps, "disk full (%d KB free): temp files left %s" % (free_kb, temps))
            r = small.train("full", "epochs=%d" % (epochs + 1), "resume=True")
            checker.check(r.rc == 0, "disk full: resume once there is room again: %s" % r.describe())
            epochs += 1
        checker.check(len(named) >= 3, "disk full: the failures named only the kinds %s" % sorted(named))
        for ev in glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
            tensorboard_scalars(ev, checker)
    finally:
        subprocess.run(["umount", mount])


def check_signals(env, checker):
    hup = sgtest.Started(env.train_cmd("hup", "epochs=100000"))
    if not hup.wait_for("run directory"):
        checker.fail("SIGHUP: the run did not start: %s" % hup.finish().describe())
    else:
        hup.signal(signal.SIGHUP)
        r = hup.finish()
        checker.check(r.rc == 4 and "sg-train: stopped by a signal" in r.err, "SIGHUP: %s" % r.describe())
        stopped_in = r.err.split("/ckpt_latest.pth holds")[0].split("; ")[-1]
        checker.check(r.out.strip().splitlines()[-1:] == [stopped_in],
                      "SIGHUP: the run directory %r is not the last line of stdout: %r" % (stopped_in, r.out[-300:]))

    # `sg-train ... 2>&1 | head -1`: the reader goes away after one line.
    p = subprocess.Popen(env.train_cmd("pipe", "epochs=2"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first_line = p.stdout.readline()
    p.stdout.close()
    rc = p.wait(timeout=300)
    runs = run_dirs(env.root, "pipe")
    checker.check(rc == 0 and first_line, "closed pipe: exit %s after %r" % (rc, first_line))
    checker.check(runs and os.path.isfile(os.path.join(runs[0], "ckpt_epoch_1.pth")) and
                  os.path.isfile(os.path.join(runs[0], "ckpt_latest.pth")), "closed pipe: the run did not finish: %s" % runs)

    # Start-up (a big synthetic dataset being made): SIGTERM ends it at once, nothing made.
    start = sgtest.Started(env.train_cmd("startup", "dataset_params.synthetic.train_size=3000000"))
    caught = False
    while not caught and start.p.poll() is None:
        try:
            with open("/proc/%d/status" % start.p.pid) as f:
                mask = [int(l.split()[1], 16) for l in f if l.startswith("SigCgt:")][0]
            caught = bool(mask & (1 << (signal.SIGTERM - 1)))
        except (OSError, IndexError):
            break
    start.signal(signal.SIGTERM)
    r = start.finish()
    checker.check(caught and r.rc == -signal.SIGTERM, "SIGTERM in start-up: expected death by SIGTERM: %s" % r.describe())
    checker.check("run directory" not in r.err and not run_dirs(env.root, "startup"), "SIGTERM in start-up made a run")


def check_fifo_inputs(env, checker, work):
    fifo = os.path.join(work, "input.fifo")
    os.mkfifo(fifo)
    for key in ("checkpoint_params.checkpoint_path", "training_hyperparams.resume_path"):
        r = env.train("fifo", key + "=" + fifo, timeout=60)
        if checker.check(r.rc == 2, "FIFO %s: %s" % (key, r.describe())):
            one_error_line(checker, r, "sg-train", [fifo, "not a regular file"], "FIFO " + key)
    r = sgtest.run([env.args.eval] + TINY + ["checkpoint_params.checkpoint_path=" + fifo], timeout=60)
    if checker.check(r.rc == 2, "sg-eval FIFO checkpoint_path: %s" % r.describe()):
        one_error_line(checker, r, "sg-eval", [fifo, "not a regular file"], "sg-eval FIFO checkpoint_path")
    data = os.path.join(work, "fifo_data")
    os.makedirs(data)
    for n in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz"):
        os.mkfifo(os.path.join(data, n))
    r = sgtest.run([env.args.train, "ckpt_root_dir=" + env.root, "experiment_name=fifo", "dataset_params.root=" + data,
                    "epochs=1"], timeout=60)
    if checker.check(r.rc == 2, "FIFO dataset files: %s" % r.describe()):
        one_error_line(checker, r, "sg-train", ["not a regular file"], "FIFO dataset files")


def main():
    args = sgtest.parse_args(__doc__, paths=("train", "resume", "eval"))
    torch = sgtest.import_torch()
    work = sgtest.fresh_dir(args.workdir)
    env = Env(args, os.path.join(work, "ckpts"))
    checker = sgtest.Checker("test_run_safety")
    check_lock(env, checker)
    check_planted_links(env, checker, work)
    check_names(env, checker, work)
    check_resume_reads(env, checker, torch)
    check_finite(env, checker)
    check_disk_full(env, checker, work)
    check_signals(env, checker)
    check_fifo_inputs(env, checker, work)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
