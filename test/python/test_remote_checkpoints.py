"""Remote checkpoints: the run directory mirrored through rclone to real servers on loopback.

- S3 (s3rver, through the s3:// shorthand and the AWS_* environment): 2 epochs with
  sg_logger_params.save_checkpoints_remote, the local checkpoint folder deleted, then
  resume_from_remote_sg_logger to 4 epochs ends with the state of a straight 4-epoch run;
  every uploaded object equals its local file. With the local folder gone again, sg-eval and
  sg-resume --storage-location fetch the run and use it. sg-eval of
  checkpoint_params.checkpoint_path=s3://... scores what the local file scores,
  training_hyperparams.resume_path=s3://... branches as from the local file, and a model
  zoo in S3 (--zoo s3://...) is fetched into ~/.cache/sg-models, checked against its manifest.
- WebDAV (rclone serve webdav): the server is stopped while a checkpoint is being uploaded
  and started again later: training goes on meanwhile, the run ends with exit 0, the log
  names the failed attempts, every remote object equals the local file and no object under
  a real name was ever incomplete.
- With the server gone for good, the end of training waits upload_timeout_s, then exits 3
  with one line naming the file, the local files intact.
- Before training: a missing rclone, an unknown remote, a server that does not answer, a
  storage_location nothing uses: exit 2, one line, no run directory.
"""

import csv
import filecmp
import glob
import hashlib
import json
import os
import shutil
import threading
import zipfile

import remote_servers
import sgtest

LOG = "training_hyperparams.sg_logger_params."
BASE = ["dataset_params.synthetic.train_size=512", "training_hyperparams.max_train_batches=null",
        "training_hyperparams.lr_mode=StepLRScheduler", "training_hyperparams.lr_updates=[3]",
        "training_hyperparams.save_ckpt_epoch_list=[]", "ema=True", "training_hyperparams.ema_params.decay_type=threshold"]


class Env:
    def __init__(self, args):
        self.args = args
        self.root = os.path.join(args.workdir, "ckpt")

    def cmd(self, experiment, *overrides):
        return [self.args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + self.root,
                "experiment_name=" + experiment] + BASE + list(overrides)

    def train(self, experiment, *overrides, env=None):
        return sgtest.run(self.cmd(experiment, *overrides), timeout=300, env=env)

    def state_hash(self, path):
        return sgtest.training_state_hash(self.args.inspect, path)

    def run_dirs(self, experiment):
        return sorted(glob.glob(os.path.join(self.root, experiment, "RUN_*")))


def last_line(r):
    return r.out.strip().splitlines()[-1] if r.out.strip() else ""


def check_mirrored(checker, run_dir, remote, what, names):
    """remote: {relative name: the file holding that object's bytes on the server's disk}."""
    for name in names:
        local = os.path.join(run_dir, name)
        if checker.check(name in remote, "%s: %s uploaded (remote has %s)" % (what, name, sorted(remote))):
            checker.check(filecmp.cmp(local, remote[name], shallow=False), "%s: remote %s equals the local file" % (what, name))
    leftovers = [name for name in remote if os.path.basename(name).startswith(".") and name.endswith(".partial")]
    checker.check(not leftovers, "%s: no temporary objects left: %s" % (what, leftovers))


def dav_files(folder):
    """{relative name: path} of every file a WebDAV server's folder holds, hidden ones too."""
    out = {}
    for top, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(top, name)
            out[os.path.relpath(path, folder)] = path
    return out


def check_s3_resume(checker, env, servers_dir):
    with remote_servers.S3Server(os.path.join(servers_dir, "s3")) as s3:
        s3_env = dict(s3.env)
        location = s3.url("runs")
        straight = env.train("straight", "epochs=4")
        if not checker.check(straight.rc == 0, "straight run: %s" % straight.describe()):
            return
        reference, _ = env.state_hash(os.path.join(last_line(straight), "ckpt_latest.pth"))

        upload = [LOG + "save_checkpoints_remote=True", LOG + "save_logs_remote=True",
                  LOG + "storage_location=" + location]
        first = env.train("split", "epochs=2", *upload, env=s3_env)
        if not checker.check(first.rc == 0, "2 epochs with remote saving: %s" % first.describe()):
            return
        run_dir = last_line(first)
        run_id = os.path.basename(run_dir)
        remote_run = "runs/split/" + run_id
        log = os.path.basename(glob.glob(os.path.join(run_dir, "log_*.txt"))[0])
        check_mirrored(checker, run_dir, s3.objects(remote_run), "S3",
                       ["ckpt_latest.pth", "ckpt_best.pth", ".hydra/config.yaml", log,
                        "metrics.csv", "steps.csv", "report.html"])

        shutil.rmtree(os.path.join(env.root, "split"))
        resumed = env.train("split", "epochs=4", "training_hyperparams.resume_from_remote_sg_logger=True", *upload,
                            env=s3_env)
        if not checker.check(resumed.rc == 0, "resume from the remote: %s" % resumed.describe()):
            return
        checker.check("downloaded " in resumed.err, "the log says what was downloaded: %s" % sgtest.short(resumed.err, 400))
        checker.eq(last_line(resumed), run_dir, "the resumed run's directory")
        state, _ = env.state_hash(os.path.join(run_dir, "ckpt_latest.pth"))
        checker.check(state == reference, "2 epochs + remote resume to 4 equals 4 straight (net, EMA, optimizer)")
        check_mirrored(checker, run_dir, s3.objects(remote_run), "S3 after the resume",
                       ["ckpt_latest.pth", "metrics.csv", "report.html"])
        # The records came down with the run: metrics.csv goes on from the remote's two epochs.
        with open(os.path.join(run_dir, "metrics.csv")) as f:
            epochs = [row["epoch"] for row in csv.DictReader(f)]
        checker.eq(epochs, ["1", "2", "3", "4"], "metrics.csv epochs after the remote resume")

        # sg-eval and sg-resume fetch the run the same way when it is gone here.
        shutil.rmtree(os.path.join(env.root, "split"))
        fetch = ["--experiment-name", "split", "--ckpt-root-dir", env.root, "--storage-location", location]
        ev = sgtest.run([env.args.eval] + fetch + ["--ckpt-name", "ckpt_best.pth", "--max-batches", "1", "--json"],
                        timeout=300, env=s3_env)
        checker.check(ev.rc == 0 and os.path.isfile(os.path.join(run_dir, "ckpt_best.pth")),
                      "sg-eval --storage-location fetches ckpt_best.pth and evaluates it: %s" % ev.describe())
        check_remote_checkpoint_path(checker, env, s3, os.path.join(run_dir, "ckpt_best.pth"), remote_run)
        more = sgtest.run([env.args.resume] + fetch + ["training_hyperparams.max_epochs=5"], timeout=300, env=s3_env)
        checker.check(more.rc == 0 and last_line(more) == run_dir,
                      "sg-resume --storage-location continues the fetched run to epoch 5: %s" % more.describe())


def check_remote_checkpoint_path(checker, env, s3, local_ckpt, remote_run):
    """checkpoint_params.checkpoint_path as s3://, and a model zoo in S3: sg-eval scores what
    it scores from the local file; resume_path=s3:// branches as from the local file; the zoo
    file lands in ~/.cache/sg-models, checked."""
    evaluate = [env.args.eval, "--config-name", "test_tiny", "--max-batches", "2", "--json"]
    local = sgtest.run(evaluate + ["checkpoint_params.checkpoint_path=" + local_ckpt], timeout=300)
    url = s3.url(remote_run + "/ckpt_best.pth")
    remote = sgtest.run(evaluate + ["checkpoint_params.checkpoint_path=" + url], timeout=300, env=s3.env)
    if checker.check(local.rc == 0 and remote.rc == 0, "sg-eval of checkpoint_path local / s3://: %s / %s" % (
            local.describe(), remote.describe())):
        checker.eq(json.loads(remote.out)["metrics"], json.loads(local.out)["metrics"],
                   "sg-eval checkpoint_path=s3://: the local file's metrics")
    missing = sgtest.run(evaluate + ["checkpoint_params.checkpoint_path=" + s3.url("nowhere/ckpt.pth")], timeout=300,
                         env=s3.env)
    checker.check(missing.rc == 2 and s3.url("nowhere/ckpt.pth") in missing.err and missing.err.count("\n") == 1,
                  "sg-eval of a missing s3:// checkpoint: one line naming it: %s" % missing.describe())

    # training_hyperparams.resume_path=s3://...: the same branch as from the local file.
    states = []
    for what, source in (("local", local_ckpt), ("s3", url)):
        r = env.train("branch_" + what, "epochs=5", "training_hyperparams.resume_path=" + source, env=s3.env)
        if checker.check(r.rc == 0 and ("branched from " + source) in r.err,
                         "branch from a %s resume_path: %s" % (what, r.describe())):
            states.append(env.state_hash(os.path.join(last_line(r), "ckpt_latest.pth"))[0])
    checker.check(len(states) == 2 and states[0] == states[1], "a branch from s3:// equals the branch from the local file")

    zoo_name = "resnet_mini_fashion_mnist.pth"
    remote_servers.rclone("copyto", local_ckpt, s3.remote("zoo/" + zoo_name))
    with open(local_ckpt, "rb") as f:
        manifest = json.dumps({zoo_name: hashlib.sha256(f.read()).hexdigest()}).encode()
    remote_servers.rclone("rcat", s3.remote("zoo/manifest.json"), input=manifest)
    home = sgtest.fresh_dir(os.path.join(env.root, "home"))
    zoo_env = dict(s3.env, HOME=home)
    pretrained = evaluate + ["--zoo", s3.url("zoo"), "checkpoint_params.pretrained_weights=fashion_mnist"]
    r = sgtest.run(pretrained, timeout=300, env=zoo_env)
    cached = os.path.join(home, ".cache", "sg-models", zoo_name)
    checker.check(r.rc == 0 and json.loads(r.out or "{}").get("weights") == "pretrained fashion_mnist",
                  "sg-eval with pretrained weights from an S3 zoo: %s" % r.describe())
    checker.check(os.path.isfile(cached) and open(cached, "rb").read() == open(local_ckpt, "rb").read(),
                  "the zoo file is cached in ~/.cache/sg-models")
    remote_servers.rclone("rcat", s3.remote("zoo/manifest.json"), input=json.dumps({zoo_name: "0" * 64}).encode())
    os.remove(cached)
    bad = sgtest.run(pretrained, timeout=300, env=zoo_env)
    checker.check(bad.rc == 2 and "SHA-256" in bad.err and os.listdir(os.path.dirname(cached)) == [],
                  "a zoo file that fails the manifest: exit 2, nothing cached: %s / %s" % (
                      bad.describe(), os.listdir(os.path.dirname(cached))))


class IncompleteWatcher:
    """Polls a WebDAV server's folder for objects under real names and checks that each
    checkpoint seen there is a whole zip archive (a partial one has no central directory)."""

    def __init__(self, folder):
        self.folder, self.bad, self.seen_partial = folder, [], threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll)
        self.thread.start()

    def poll(self):
        while not self.stop.is_set():
            for path in dav_files(self.folder).values():
                name = os.path.basename(path)
                if name.endswith(".partial"):
                    self.seen_partial.set()
                elif name.endswith(".pth"):
                    try:
                        with zipfile.ZipFile(path) as z:
                            z.namelist()
                    except FileNotFoundError:
                        pass   # replaced between the listing and the open
                    except (zipfile.BadZipFile, OSError) as e:
                        self.bad.append("%s: %s" % (path, e))
            self.stop.wait(0.005)

    def close(self):
        self.stop.set()
        self.thread.join()


def check_webdav_outage(checker, env, servers_dir):
    data = os.path.join(servers_dir, "webdav")
    with remote_servers.WebdavServer(data) as dav:
        upload = [LOG + "save_checkpoints_remote=True", LOG + "storage_location=" + dav.remote("runs"),
                  "+training_hyperparams.ckpt_every_n_steps=2", "epochs=3"]
        # A slow link (rclone's own --bwlimit) keeps each upload in progress long enough to be
        # seen, however busy the machine.
        slow = os.path.join(env.args.workdir, "slow-rclone")
        with open(slow, "w") as f:
            f.write('#!/bin/sh\nexec "%s" "$@" --bwlimit 200k\n' % remote_servers.rclone_path())
        os.chmod(slow, 0o755)
        watcher = IncompleteWatcher(data)
        started = sgtest.Started(env.cmd("outage", *upload), timeout=600, env=dict(os.environ, SG_RCLONE=slow))
        try:
            # Stopped in the middle of an upload: once a temporary object is there.
            checker.check(watcher.seen_partial.wait(120), "an upload was seen in progress")
            dav.stop()
            stopped_at = len(started.lines)
            # Training goes on while the server is down: failed uploads are logged after an epoch's line.
            checker.check(started.wait_for("upload: "), "the log names a failed upload")
            checker.check(any(" train: " in line for line in started.lines[stopped_at:]),
                          "training went on with the server down: %s" % started.lines[stopped_at:])
            dav.start()
        finally:
            r = started.finish()
            watcher.close()
        if not checker.check(r.rc == 0, "the run with an outage completes: %s" % r.describe()):
            return
        checker.check(not watcher.bad, "no incomplete object under a real name: %s" % watcher.bad[:3])
        run_dir = last_line(r)
        remote_run = os.path.join(data, "runs", "outage", os.path.basename(run_dir))
        check_mirrored(checker, run_dir, dav_files(remote_run), "WebDAV after an outage", ["ckpt_latest.pth", "ckpt_best.pth"])

        # A server that does not answer when training starts: refused before training.
        dav.stop()
        r = env.train("down", LOG + "save_checkpoints_remote=True", LOG + "storage_location=" + dav.remote("runs"),
                      "epochs=1")
        lines = r.err.strip().splitlines()
        checker.check(r.rc == 2 and len(lines) == 1 and "storage_location" in r.err,
                      "a server that is down at the start: exit 2, one line: %s" % r.describe())
        checker.check(not env.run_dirs("down"), "a server that is down at the start: no run directory")


def check_server_lost_at_the_end(checker, env, servers_dir):
    data = os.path.join(servers_dir, "webdav_lost")
    with remote_servers.WebdavServer(data) as dav:
        upload = [LOG + "save_checkpoints_remote=True", LOG + "storage_location=" + dav.remote("runs"),
                  LOG + "upload_timeout_s=3", "epochs=2"]
        started = sgtest.Started(env.cmd("lost", *upload), timeout=600)
        try:
            checker.check(started.wait_for("epoch 1 train"), "the first epoch ends")
            dav.stop()
        finally:
            r = started.finish()
        checker.check(r.rc == 3, "uploads still failing at the end: exit 3: %s" % r.describe())
        last = r.err.strip().splitlines()[-1] if r.err.strip() else ""
        checker.check(last.startswith("sg-train: error: cannot upload " + env.root) and "local copy is intact" in last
                      and last.count("cannot upload") == 1, "one line naming the file: %s" % last)
        runs = env.run_dirs("lost")
        if checker.check(len(runs) == 1, "one run directory: %s" % runs):
            r2, doc = sgtest.inspect(env.args.inspect, "--verify", "--json", os.path.join(runs[0], "ckpt_latest.pth"))
            checker.check(r2.rc == 0, "the local checkpoint is intact: %s" % r2.describe())


def check_refused_before_training(checker, env):
    cases = [
        ("missing rclone", [LOG + "save_checkpoints_remote=True", LOG + "storage_location=:local:" + env.root + "/remote"],
         {"SG_RCLONE": os.path.join(env.args.workdir, "no-such-rclone")}, "is not installed"),
        ("unknown remote", [LOG + "save_checkpoints_remote=True", LOG + "storage_location=nosuchremote:bucket/x"],
         {"RCLONE_CONFIG": os.path.join(env.args.workdir, "empty.conf")}, "storage_location"),
        ("location nothing uses", [LOG + "storage_location=:local:/tmp"], None, "nothing is saved to it"),
        ("remote saving without a location", [LOG + "save_checkpoints_remote=True"], None, "storage_location: needed"),
    ]
    open(os.path.join(env.args.workdir, "empty.conf"), "w").close()
    for what, overrides, extra_env, needle in cases:
        experiment = "refused_" + what.replace(" ", "_")
        r = env.train(experiment, "epochs=1", *overrides, env=extra_env)
        lines = r.err.strip().splitlines()
        checker.check(r.rc == 2 and len(lines) == 1 and needle in r.err,
                      "%s: exit 2 with one line saying '%s': %s" % (what, needle, r.describe()))
        checker.check(not env.run_dirs(experiment), "%s: no run directory" % what)


def main():
    args = sgtest.parse_args(__doc__, paths=("train", "resume", "eval"))
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("remote_checkpoints")
    env = Env(args)
    servers_dir = sgtest.fresh_dir(os.path.join(args.workdir, "servers"))
    check_refused_before_training(checker, env)
    check_s3_resume(checker, env, servers_dir)
    check_webdav_outage(checker, env, servers_dir)
    check_server_lost_at_the_end(checker, env, servers_dir)
    checker.report()


if __name__ == "__main__":
    main()
