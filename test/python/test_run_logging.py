"""What a training run shows people: progress, TensorBoard, metrics.csv, steps.csv, report.html.

(a) stderr a pipe, --progress-every 0: a progress line after every train and valid batch,
    with counts, percentage, loss, rate, elapsed and ETA; none of them in the log file;
    --progress-every 3600 prints none.
(b) stderr a pseudo-terminal of 40 columns, resized to 100 while training: every redraw is
    \\r + text + \\x1b[K, never wider than the width - 1 columns, and one wider than 40
    columns comes after the resize (the program asks the width at each redraw).
(c) the TensorBoard events carry SG's tags at SG's steps: Train_<metric>, Valid_<metric>,
    "Train Inference Time", "Valid Inference Time" and LR at the 0-based epoch, and
    Step/Train_CrossEntropyLoss and Step/LR at SG's batch step (batch + 1 + epoch * batches).
(d) metrics.csv has one row per epoch with the log's epoch-line values; after SIGTERM mid-run
    and sg-resume, each epoch once; steps.csv each step once.
(e) report.html is self-contained (no script, no URL), has one <svg> per chart, and
    headless Chromium renders it to a PNG that is not blank (kept in the workdir as
    report.png) with the svg elements in its DOM.
"""

import csv
import fcntl
import glob
import math
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import sgtest
from test_train_run import tensorboard_scalars

TINY = ["--config-name", "test_tiny"]
PROGRESS = re.compile(r"^epoch (\d+)/(\d+) (train|valid) (\d+)/(\d+) \((\d+)%\) loss \d+\.\d{4} \d+ img/s "
                      r"elapsed \d+:\d\d ETA (\d+:\d\d|-:--)$")
EPOCH_LINE = re.compile(r"epoch (\d+) train: (.*?) \([\d.]+ img/s.*?\)(?: \| valid: (.*))?$")
COLOR = re.compile("\x1b\\[[0-9;]*m")
BATCHES_IN_DATASET = 4   # test_tiny: 64 training images in batches of 16 (max_train_batches 3 of them)
TRAIN_BATCHES = 3
VALID_BATCHES = 1        # 32 validation images in one batch of 32


def train_cmd(args, root, experiment, *extra):
    return [args.train] + TINY + ["ckpt_root_dir=" + root, "experiment_name=" + experiment] + list(extra)


def run_dir_of(r):
    return r.out.strip().splitlines()[-1] if r.out.strip() else ""


def metric_values(text):
    """{name: value} of a log line's "Accuracy 0.1250, CrossEntropyLoss 2.3026, ..." part."""
    out = {}
    for part in text.split(", "):
        name, value = part.rsplit(" ", 1)
        out[name] = float(value)
    return out


def log_epochs(run_dir):
    """{epoch: {column: value}} from the epoch lines of the run's log files."""
    epochs = {}
    for log in sorted(glob.glob(os.path.join(run_dir, "log_*.txt"))):
        for line in open(log):
            m = EPOCH_LINE.search(line.rstrip("\n"))
            if not m:
                continue
            row = {"Train_" + k: v for k, v in metric_values(m.group(2)).items()}
            if m.group(3):
                row.update({"Valid_" + k: v for k, v in metric_values(m.group(3)).items()})
            epochs[int(m.group(1))] = row
    return epochs


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def check_progress_lines(checker, r, epochs):
    lines = [l for l in r.err.splitlines() if PROGRESS.match(l)]
    seen = {}
    for l in lines:
        e, total_epochs, phase, done, total, percent, _ = PROGRESS.match(l).groups()
        checker.check(int(total_epochs) == epochs, "progress line of %s epochs: %r" % (total_epochs, l))
        checker.check(int(percent) == int(done) * 100 // int(total), "progress percentage: %r" % l)
        seen.setdefault((int(e), phase), []).append([int(done), int(total)])
    for e in range(1, epochs + 1):
        checker.eq(seen.get((e, "train")), [[b, TRAIN_BATCHES] for b in range(1, TRAIN_BATCHES + 1)],
                   "epoch %d: train progress lines (done, total)" % e)
        checker.eq(seen.get((e, "valid")), [[b, VALID_BATCHES] for b in range(1, VALID_BATCHES + 1)],
                   "epoch %d: valid progress lines (done, total)" % e)
    checker.check(not any(l.startswith("epoch ") and "/" in l.split()[1] and not PROGRESS.match(l) for l in r.err.splitlines()),
                  "a progress line of another form: %r" % r.err)


def check_piped(args, checker, root):
    """(a) progress lines; returns the run directory for the other checks."""
    r = sgtest.run(train_cmd(args, root, "piped", "--progress-every", "0", "epochs=2"), timeout=300)
    if not checker.check(r.rc == 0, "(a) sg-train --progress-every 0: %s" % r.describe()):
        return None
    check_progress_lines(checker, r, 2)
    run_dir = run_dir_of(r)
    logged = "".join(open(f).read() for f in glob.glob(os.path.join(run_dir, "log_*.txt")))
    checker.check(" train: " in logged and not re.search(r"epoch \d+/\d+ (train|valid) ", logged),
                  "(a) progress lines went to the log file, or the epoch lines did not: %r" % logged)
    quiet = sgtest.run(train_cmd(args, root, "quiet", "--progress-every", "3600", "epochs=1"), timeout=300)
    checker.check(quiet.rc == 0 and not any(PROGRESS.match(l) for l in quiet.err.splitlines()),
                  "(a) --progress-every 3600 printed progress lines: %s" % quiet.describe())
    bad = sgtest.run(train_cmd(args, root, "bad", "--progress-every", "-1"), timeout=60)
    checker.check(bad.rc == 2 and not os.path.exists(os.path.join(root, "bad")), "(a) --progress-every -1: %s" % bad.describe())
    return run_dir


def set_width(fd, columns):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))


def redraws_of(stream):
    """(the redraws in a terminal's byte stream, what is wrong with the stream): each redraw
    must be \r + text + \x1b[K, with only whole log lines (after a clearing \r\x1b[K)
    between them. A redraw cut at the stream's end is left out."""
    redraws, problems = [], []
    segments = stream.split("\r")
    for i, seg in enumerate(segments[1:], 1):
        if seg.startswith("\x1b[K"):   # a clear, then whole lines
            rest = seg[3:]
            if rest and not rest.endswith("\n"):
                problems.append("a partial line after a clear: %r" % seg[:200])
            continue
        if not seg.endswith("\x1b[K"):
            if i < len(segments) - 1 or "\n" in seg:
                problems.append("a redraw without \\x1b[K at its end: %r" % seg[:200])
            continue
        text = seg[:-3]
        if "\n" in text or "\x1b[K" in text:
            problems.append("a redraw holding more than one line: %r" % seg[:200])
        redraws.append(text)
    return redraws, problems


def check_terminal(args, checker, root):
    """(b) a bar that fits a 40-column terminal, then a 100-column one after a resize."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST   # "\n" stays "\n": the stream is the program's own bytes
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    set_width(slave, 40)
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    p = subprocess.Popen(train_cmd(args, root, "tty", "epochs=100000"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    stream, resized_at = "", None
    deadline = time.time() + 240   # a bound on a hang, not a wait: the loop waits for states
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 5)
            if not ready:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            stream += chunk.decode("utf-8", "replace")
            if resized_at is None and stream.count("\x1b[K") >= 20 and "valid" in stream:
                resized_at = len(stream)
                set_width(master, 100)
            if resized_at is not None and any(len(COLOR.sub("", t)) > 40 for t in redraws_of(stream[resized_at:])[0]):
                break
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            while True:   # the rest, up to the end of the program
                ready, _, _ = select.select([master], [], [], 60)
                chunk = os.read(master, 65536) if ready else b""
                if not chunk:
                    break
                stream += chunk.decode("utf-8", "replace")
        except OSError:
            pass
        p.wait(timeout=120)
        os.close(master)
    open(os.path.join(args.workdir, "terminal.txt"), "w").write(stream)
    if not checker.check(resized_at is not None, "(b) fewer than 20 redraws with a validation one: %r" % stream[-2000:]):
        return
    # Cut at the resize, a redraw may be split in two: the whole stream is checked once.
    _, problems = redraws_of(stream)
    checker.check(not problems, "(b) the terminal stream: %s" % problems[:5])
    before, after = redraws_of(stream[:resized_at])[0], redraws_of(stream[resized_at:])[0]
    for text in before:
        checker.check(len(COLOR.sub("", text)) <= 39, "(b) a redraw of %d columns at 40: %r" % (len(COLOR.sub("", text)), text))
    for text in after:
        checker.check(len(COLOR.sub("", text)) <= 99, "(b) a redraw of %d columns at 100: %r" % (len(COLOR.sub("", text)), text))
    wide = [COLOR.sub("", t) for t in after if len(COLOR.sub("", t)) > 40]
    if checker.check(wide, "(b) no redraw wider than 40 columns after the resize to 100"):
        checker.check(re.search(r"\[#*\.*\] \d+/\d+ \(\d+%\) loss \d+\.\d+ \d+ img/s elapsed \d+:\d\d ETA (\d+:\d\d|-:--)$",
                                wide[-1]), "(b) a wide redraw without its bar, elapsed and ETA: %r" % wide[-1])
    checker.check(any(" valid " in COLOR.sub("", t) for t in before + after), "(b) no validation progress on the terminal")
    checker.check(any("\x1b[32m" in t for t in after), "(b) the bar is not coloured (NO_COLOR unset)")
    checker.check(p.returncode == 4, "(b) SIGTERM: exit %s, not 4" % p.returncode)


def check_events(checker, run_dir, epochs):
    """(c) SG's tags at SG's steps."""
    events = glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))
    if not checker.check(len(events) == 1, "(c) events files %s" % events):
        return
    scalars = tensorboard_scalars(events[0], checker)
    checker.check(not [t for t in scalars if "/" in t and not t.startswith(("Step/", "LR/"))],
                  "(c) tags in another style: %s" % sorted(scalars))
    epoch_steps = list(range(epochs))
    for tag in ["Train_Accuracy", "Train_Top5", "Train_CrossEntropyLoss", "Train Inference Time", "LR",
                "Valid_Accuracy", "Valid_Top5", "Valid_CrossEntropyLoss", "Valid Inference Time"]:
        checker.eq(sorted(scalars.get(tag, {})), epoch_steps, "(c) %s steps" % tag)
    for tag in ["Train Inference Time", "Valid Inference Time"]:
        checker.check(all(0 < v < 600 for v in scalars.get(tag, {}).values()), "(c) %s seconds %s" % (tag, scalars.get(tag)))
    batch_steps = [b + 1 + BATCHES_IN_DATASET * e for e in range(epochs) for b in range(TRAIN_BATCHES)]
    for tag in ["Step/Train_CrossEntropyLoss", "Step/LR"]:
        checker.eq(sorted(scalars.get(tag, {})), batch_steps, "(c) %s steps" % tag)
    _, steps = read_csv(os.path.join(run_dir, "steps.csv"))
    for row in steps:
        s = int(row["step"])
        for tag, column in (("Step/Train_CrossEntropyLoss", "loss"), ("Step/LR", "lr")):
            got = scalars.get(tag, {}).get(s)
            checker.check(got is not None and math.isclose(got, float(row[column]), rel_tol=1e-6),
                          "(c) %s at %d: %s, steps.csv %s" % (tag, s, got, row[column]))
    _, rows = read_csv(os.path.join(run_dir, "metrics.csv"))
    for row in rows:
        e = int(row["epoch"]) - 1
        for column in ("Valid_Accuracy", "LR", "Train_CrossEntropyLoss"):
            got = scalars.get(column, {}).get(e)
            checker.check(got is not None and math.isclose(got, float(row[column]), rel_tol=1e-6),
                          "(c) %s at step %d: %s, metrics.csv %s" % (column, e, got, row[column]))


def check_metrics_csv(checker, run_dir, epochs, what):
    """(d) one row per epoch with the log's values, columns in SG's names."""
    path = os.path.join(run_dir, "metrics.csv")
    if not checker.check(os.path.isfile(path), "%s: no metrics.csv in %s" % (what, os.listdir(run_dir))):
        return
    header, rows = read_csv(path)
    checker.eq(header, ["epoch", "Train_Accuracy", "Train_CrossEntropyLoss", "Train_Top5", "Valid_Accuracy",
                        "Valid_CrossEntropyLoss", "Valid_Top5", "LR", "epoch_seconds", "elapsed_seconds"],
               "%s: metrics.csv columns" % what)
    checker.eq([int(r["epoch"]) for r in rows], list(range(1, epochs + 1)), "%s: metrics.csv epochs" % what)
    logged = log_epochs(run_dir)
    checker.eq(sorted(logged), list(range(1, epochs + 1)), "%s: epochs in the log" % what)
    for r in rows:
        for column, value in logged.get(int(r["epoch"]), {}).items():
            checker.check(r.get(column) and abs(float(r[column]) - value) <= 5.1e-5,
                          "%s: epoch %s %s: metrics.csv %s, log %s" % (what, r["epoch"], column, r.get(column), value))
        checker.check(0 < float(r["epoch_seconds"]) <= float(r["elapsed_seconds"]), "%s: times of %s" % (what, r))
    elapsed = [float(r["elapsed_seconds"]) for r in rows]
    checker.check(elapsed == sorted(elapsed), "%s: elapsed_seconds not increasing: %s" % (what, elapsed))
    _, steps = read_csv(os.path.join(run_dir, "steps.csv"))
    checker.eq([int(s["step"]) for s in steps],
               [b + 1 + BATCHES_IN_DATASET * e for e in range(epochs) for b in range(TRAIN_BATCHES)],
               "%s: steps.csv steps" % what)
    checker.eq([int(s["epoch"]) for s in steps], [e + 1 for e in range(epochs) for _ in range(TRAIN_BATCHES)],
               "%s: steps.csv epochs" % what)


def check_resumed(args, checker, root):
    """(d) SIGTERM inside epoch 3 of 6 (or soon after: any point before the end will do),
    then sg-resume: each epoch and step once."""
    epochs = 6
    p = sgtest.Started(train_cmd(args, root, "stopped", "--progress-every", "0", "epochs=%d" % epochs))
    reached = p.wait_for("epoch 3/%d train 1/%d" % (epochs, TRAIN_BATCHES))
    p.signal(signal.SIGTERM)
    r = p.finish()
    if not checker.check(reached and r.rc == 4, "(d) SIGTERM in epoch 3: %s" % r.describe()):
        return
    run_dir = run_dir_of(r)
    _, rows = read_csv(os.path.join(run_dir, "metrics.csv"))
    done = [int(x["epoch"]) for x in rows]
    checker.check(len(done) >= 2 and done == list(range(1, len(done) + 1)), "(d) metrics.csv of the stopped run: %s" % done)
    resumed = sgtest.run([args.resume, "--experiment-name", "stopped", "--ckpt-root-dir", root, "--progress-every", "0"],
                         timeout=300)
    if not checker.check(resumed.rc == 0 and run_dir_of(resumed) == run_dir, "(d) sg-resume: %s" % resumed.describe()):
        return
    checker.check(any(PROGRESS.match(l) and l.startswith("epoch %d/%d valid" % (epochs, epochs)) for l in resumed.err.splitlines()),
                  "(d) sg-resume --progress-every 0 printed no progress: %s" % resumed.describe())
    check_metrics_csv(checker, run_dir, epochs, "(d) resumed")


def check_report(args, checker, run_dir):
    """(e) report.html: self-contained, one svg per chart, rendered by headless Chromium."""
    path = os.path.join(run_dir, "report.html")
    if not checker.check(os.path.isfile(path), "(e) no report.html in %s" % os.listdir(run_dir)):
        return
    html = open(path, encoding="utf-8").read()
    for needle in ("<script", "http://", "https://", "url(", "@import", "<link", "<img", "<iframe"):
        checker.check(needle not in html.lower(), "(e) report.html holds %r" % needle)
    header, _ = read_csv(os.path.join(run_dir, "metrics.csv"))
    metrics = {c.split("_", 1)[1] for c in header if c.startswith(("Train_", "Valid_"))} - {"CrossEntropyLoss"}
    charts = 4 + len(metrics)   # loss by step and by epoch, LR by step and by epoch, one per metric
    checker.eq(html.count("<svg"), charts, "(e) <svg> elements in report.html")
    checker.check("<h1>piped / " + os.path.basename(run_dir) + "</h1>" in html, "(e) the title names the run")
    checker.check("resnet_mini, epoch 2 of 2" in html, "(e) the report does not say how far the run is")
    png = os.path.join(args.workdir, "report.png")
    profile = os.path.join(args.workdir, "chromium-profile")
    chromium = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile]
    shot = sgtest.run(chromium + ["--screenshot=" + png, "--window-size=1200,2000", "file://" + path], timeout=120)
    if checker.check(shot.rc == 0 and os.path.isfile(png), "(e) chromium --screenshot: %s" % shot.describe()):
        from PIL import Image
        image = Image.open(png).convert("RGB")
        pixels = image.getdata()
        inked = sum(1 for r, g, b in pixels if r < 200 or g < 200 or b < 200)
        checker.check(inked > 0.01 * len(pixels), "(e) %s is nearly blank: %d of %d pixels not white" % (png, inked, len(pixels)))
        coloured = sum(1 for r, g, b in pixels if abs(r - b) > 60)   # the curves' blue and red
        checker.check(coloured > 200, "(e) %s shows no coloured curve (%d pixels)" % (png, coloured))
    dom = sgtest.run(chromium + ["--dump-dom", "file://" + path], timeout=120)
    if checker.check(dom.rc == 0, "(e) chromium --dump-dom: %s" % dom.describe()):
        checker.eq(dom.out.count("<svg"), charts, "(e) svg elements in Chromium's DOM")
        checker.eq(dom.out.count("<polyline"), html.count("<polyline"), "(e) polylines in Chromium's DOM")


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "resume"))
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_run_logging")
    root = os.path.join(args.workdir, "ckpts")
    run_dir = check_piped(args, checker, root)
    if run_dir:
        check_events(checker, run_dir, 2)
        check_metrics_csv(checker, run_dir, 2, "(d)")
        check_report(args, checker, run_dir)
    check_terminal(args, checker, root)
    check_resumed(args, checker, root)
    print("report.html screenshot: %s" % os.path.join(args.workdir, "report.png"))
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
