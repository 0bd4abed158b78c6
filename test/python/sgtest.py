"""Shared helpers for the Python cross-check tests (stdlib, torch and jsonschema).

Every test script:
  - is run by CTest with Debian's /usr/bin/python3 (which has torch 1.13),
  - gets the built programs with --inspect / --roundtrip and a private --workdir,
  - collects every mismatch in a Checker and exits 1 listing them all (0 if none),
  - has every --json document that sg-ckpt-inspect, sg-ckpt-adapt or sg-eval prints through
    run() validated against tools/schemas/<program>.schema.json (a mismatch raises SchemaError).
"""

import argparse
import hashlib
import json
import math
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time


def import_torch():
    """Import torch or fail loudly: these tests must never be skipped silently."""
    try:
        import torch  # noqa: F401
    except Exception as e:  # pragma: no cover - environment problem
        sys.stderr.write(
            "FAIL: %s cannot import torch (%s). Install python3-torch (scripts/setup) "
            "or point SG_PYTHON at an interpreter with torch.\n" % (sys.executable, e))
        sys.exit(1)
    return torch


def parse_args(description, need_inspect=True, need_roundtrip=False, paths=(), extra=None):
    """The arguments every test takes; `paths` names further required ones (--train PATH, ...)."""
    p = argparse.ArgumentParser(description=description)
    for name in paths:
        p.add_argument("--" + name, required=True, help="path of " + name)
    p.add_argument("--inspect", required=need_inspect, help="path of the built sg-ckpt-inspect")
    p.add_argument("--roundtrip", required=need_roundtrip, help="path of the built pth_roundtrip")
    p.add_argument("--workdir", required=True, help="scratch folder for this test (recreated)")
    p.add_argument("--fixtures", default=None,
                   help="folder with fixtures made by make_fixtures.py (made there if missing)")
    p.add_argument("-v", "--verbose", action="store_true")
    if extra:
        extra(p)
    return p.parse_args()


class Checker:
    """Collects failures; report() prints them and exits non-zero if there were any."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.checks = 0
        self.t0 = time.time()

    def check(self, cond, msg):
        self.checks += 1
        if not cond:
            self.failures.append(msg)
        return bool(cond)

    def fail(self, msg):
        self.checks += 1
        self.failures.append(msg)

    def eq(self, actual, expected, what):
        """Exact equality with type awareness (1 != 1.0 != True); nan == nan."""
        self.checks += 1
        diff = json_diff(actual, expected)
        if diff is not None:
            self.failures.append("%s: %s" % (what, diff))
            return False
        return True

    def report(self):
        dt = time.time() - self.t0
        if self.failures:
            sys.stderr.write("%s: %d of %d checks FAILED (%.1fs):\n" % (
                self.name, len(self.failures), self.checks, dt))
            shown = self.failures[:200]
            for f in shown:
                sys.stderr.write("  - %s\n" % f)
            if len(self.failures) > len(shown):
                sys.stderr.write("  ... and %d more\n" % (len(self.failures) - len(shown)))
            sys.exit(1)
        print("%s: all %d checks passed (%.1fs)" % (self.name, self.checks, dt))
        sys.exit(0)


def short(v, n=160):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "..."


def json_diff(a, b, path=""):
    """None if a and b are equal as parsed JSON values (types included), else a description."""
    where = path or "<root>"
    if isinstance(b, bool) or isinstance(a, bool):
        if type(a) is not type(b) or a != b:
            return "at %s: got %s, expected %s" % (where, short(a), short(b))
        return None
    if isinstance(b, float) and isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return None
        if a != b:
            return "at %s: got %r, expected %r" % (where, a, b)
        return None
    if type(a) is not type(b):
        return "at %s: got %s (%s), expected %s (%s)" % (
            where, short(a), type(a).__name__, short(b), type(b).__name__)
    if isinstance(b, dict):
        if set(a) != set(b):
            return "at %s: keys differ: missing %s, unexpected %s" % (
                where, short(sorted(set(b) - set(a))), short(sorted(set(a) - set(b))))
        for k in b:
            d = json_diff(a[k], b[k], path + "/" + str(k))
            if d:
                return d
        return None
    if isinstance(b, list):
        if len(a) != len(b):
            return "at %s: length %d, expected %d (got %s, expected %s)" % (
                where, len(a), len(b), short(a), short(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = json_diff(x, y, path + "/" + str(i))
            if d:
                return d
        return None
    if a != b:
        return "at %s: got %s, expected %s" % (where, short(a), short(b))
    return None


# ---------------------------------------------------------------------------------------
# Running the programs under test

def _limits(as_bytes):
    def apply():
        os.setsid()   # its own process group: a timeout ends the workers it started too
        if as_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


class Result:
    def __init__(self, cmd, rc, out, err, timed_out, seconds, err_raw=b"", max_rss_kb=None):
        self.cmd, self.rc, self.out, self.err, self.err_raw = cmd, rc, out, err, err_raw
        self.timed_out, self.seconds = timed_out, seconds
        # The program's peak resident memory (ru_maxrss). It counts what the forked child
        # shared with this Python process before exec: an upper bound, see inherited_rss_kb.
        self.max_rss_kb = max_rss_kb

    @property
    def signal(self):
        return -self.rc if self.rc is not None and self.rc < 0 else None

    def describe(self):
        if self.timed_out:
            status = "TIMED OUT"
        elif self.signal:
            try:
                status = "killed by signal %s" % signal.Signals(self.signal).name
            except ValueError:
                status = "killed by signal %d" % self.signal
        else:
            status = "exit %d" % self.rc
        return "`%s` -> %s; stderr=%s; stdout=%s" % (
            " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(self.cmd)),
            status, short(self.err, 400), short(self.out, 300))


# ---------------------------------------------------------------------------------------
# Every JSON document our programs print is checked against the program's schema

SCHEMAS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools", "schemas")
JSON_PROGRAMS = ("sg-ckpt-inspect", "sg-ckpt-adapt", "sg-eval")   # tools/schemas/<program>.schema.json
_validators = {}


class SchemaError(AssertionError):
    """A program's --json output that does not match its schema: raised, never collected, so
    that no test can pass over it."""


def schema_validator(program):
    """The jsonschema validator of tools/schemas/<program>.schema.json (the schema itself checked)."""
    if program not in _validators:
        try:
            import jsonschema
        except ImportError as e:
            raise SchemaError("%s cannot import jsonschema (%s): install python3-jsonschema (scripts/setup); "
                              "every --json output is validated" % (sys.executable, e))
        with open(os.path.join(SCHEMAS_DIR, program + ".schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _validators[program] = cls(schema)
    return _validators[program]


def schema_problems(program, doc):
    """Where `doc` breaks the program's schema, one line each (empty if it validates). Where
    the schema offers alternatives (oneOf: the inspect modes, a report or an unreadable file),
    the line is about the alternative that came closest."""
    from jsonschema.exceptions import best_match
    lines = []
    for e in sorted(schema_validator(program).iter_errors(doc), key=lambda e: list(e.absolute_path)):
        while e.context:
            e = best_match(e.context)
        lines.append("at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), short(e.message, 300)))
    return lines


def validate_output(program, doc, what=""):
    problems = schema_problems(program, doc)
    if problems:
        raise SchemaError("%s --json output does not match tools/schemas/%s.schema.json%s:\n  %s" % (
            program, program, " (" + what + ")" if what else "", "\n  ".join(problems[:20])))


def strict_json(text):
    """json.loads, refusing the NaN, Infinity and -Infinity tokens that Python accepts and JSON has not."""
    def refuse(token):
        raise ValueError("%s is not JSON" % token)
    return json.loads(text, parse_constant=refuse)


def check_json_output(r):
    """Validates r's stdout when r ran one of JSON_PROGRAMS (directly or under a wrapper such as
    setpriv) with --json and it exited 0 or 1 after printing something: exactly one JSON
    document, matching the schema. Raises SchemaError otherwise."""
    names = [os.path.basename(str(a)) for a in r.cmd]
    at = next((i for i, n in enumerate(names) if n in JSON_PROGRAMS), None)
    if at is None or "--json" not in r.cmd[at + 1:] or r.rc not in (0, 1) or not r.out.strip():
        return
    try:
        doc = strict_json(r.out)
    except ValueError as e:
        raise SchemaError("%s --json: stdout is not one JSON document (%s): %s" % (names[at], e, short(r.out, 300)))
    validate_output(names[at], doc, " ".join(names[at:at + 1] + [str(a) for a in r.cmd[at + 1:]]))


def run(cmd, timeout=120, as_limit=None, cwd=None, env=None):
    """Runs cmd to its end (killed after `timeout` s), output to temporary files; the child
    is reaped here with wait4, which also gives its peak memory. `env` adds variables to
    this process's environment. JSON output of our programs is validated (check_json_output)."""
    t0 = time.time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, preexec_fn=_limits(as_limit),
                             env=dict(os.environ, **env) if env else None)
        expired = threading.Event()

        def kill():
            expired.set()
            os.killpg(p.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)   # ended, not reaped: kill() cannot hit another process
        timer.cancel()
        timer.join()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)   # reaped: Popen must not wait again
        out.seek(0)
        err.seek(0)
        o, e = out.read(), err.read()
    timed_out = expired.is_set()
    r = Result(cmd, None if timed_out else p.returncode, o.decode("utf-8", "replace"),
               e.decode("utf-8", "replace"), timed_out, time.time() - t0, e, usage.ru_maxrss)
    check_json_output(r)
    return r


def inherited_rss_kb():
    """What a child's max_rss_kb may include from this process (its own peak so far)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Started:
    """A program running in the background whose stderr is read line by line, so that a
    test can wait for something it prints (a state, never a time) before acting on it.
    A watchdog kills it after `timeout` seconds so that a hang cannot block the suite."""

    def __init__(self, cmd, timeout=300, env=None, stdout=subprocess.PIPE, preexec_fn=None):
        self.cmd, self.t0 = cmd, time.time()
        self.p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, preexec_fn=preexec_fn)
        self.lines = []
        self.watchdog = threading.Timer(timeout, self.p.kill)
        self.watchdog.start()

    def wait_for(self, needle):
        """Reads stderr up to a line containing `needle`; False if the program ended first."""
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if needle in line:
                return True
        return False

    def signal(self, number):
        self.p.send_signal(number)

    def finish(self):
        """Waits for the end; a Result whose stderr holds every line, those read before too.
        stderr is read through the same buffered file as wait_for (communicate() would read the
        pipe underneath and lose what wait_for's readline had read ahead); stdout in a thread."""
        outs = []
        reader = threading.Thread(target=lambda: outs.append(self.p.stdout.read() if self.p.stdout else b""))
        reader.start()
        err = self.p.stderr.read()
        reader.join()
        self.p.wait()
        out = outs[0] if outs else b""
        timed_out = self.watchdog.finished.is_set()   # it fired: cancel() has not run yet
        self.watchdog.cancel()
        err_text = "".join(self.lines) + (err or b"").decode("utf-8", "replace")
        r = Result(self.cmd, self.p.returncode, (out or b"").decode("utf-8", "replace"), err_text, timed_out,
                   time.time() - self.t0)
        check_json_output(r)
        return r


def inspect(program, *args):
    """sg-ckpt-inspect ARGS: (Result, its JSON document when --json was given and it exited 0 or 1)."""
    r = run([program] + list(args), timeout=60)
    return r, (json.loads(r.out) if r.rc in (0, 1) and "--json" in args else None)


def training_state_hash(inspect_program, path):
    """One hash over every tensor of a checkpoint's net, ema_net and optimizer state (what a
    resumed run must reproduce exactly), and the checkpoint's scalars."""
    _, doc = inspect(inspect_program, "--json", "--hash", path)
    keep = [t["path"] + ":" + t["sha256"] for t in doc["files"][0]["tensors"]
            if t["path"].split("/")[0] in ("net", "ema_net", "optimizer_state_dict")]
    return "|".join(keep), doc["files"][0]["scalars"]


def run_json(checker, cmd, what, expect_rc=0, **kw):
    """Runs cmd, checks its exit code, parses stdout as exactly one JSON document."""
    r = run(cmd, **kw)
    if not checker.check(r.rc == expect_rc, "%s: expected exit %d: %s" % (what, expect_rc, r.describe())):
        return None, r
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        checker.fail("%s: stdout is not exactly one JSON document (%s): %s" % (what, e, short(r.out, 300)))
        return None, r
    return doc, r


def fresh_dir(path):
    import shutil
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def make_class_folder(root, per_class, seed, sizes, dots, formats=("jpg",), stray_text=False):
    """An ImageFolder tree made by PIL: three classes of noisy colour fields (red, green, blue),
    each image `sizes` px per side (random in that range) with `dots` random pixels, saved in
    `formats` in turn; `stray_text` adds a text file per class, which ImageFolder does not list."""
    import random
    from PIL import Image
    rng = random.Random(seed)
    for c, colour in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        folder = os.path.join(root, "class_%d" % c)
        os.makedirs(folder)
        if stray_text:
            with open(os.path.join(folder, "notes.txt"), "w") as f:
                f.write("not an image\n")
        for i in range(per_class):
            w, h = rng.randint(*sizes), rng.randint(*sizes)
            im = Image.new("RGB", (w, h), tuple(min(255, max(0, v + rng.randint(-60, 60))) for v in colour))
            for _ in range(dots):
                im.putpixel((rng.randrange(w), rng.randrange(h)), tuple(rng.randrange(256) for _ in range(3)))
            im.save(os.path.join(folder, "%03d.%s" % (i, formats[i % len(formats)])))


def ensure_fixtures(args):
    """Returns (fixtures_dir, expected) making the fixtures when they are not there yet."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import make_fixtures
    d = args.fixtures or os.path.join(args.workdir, "fixtures")
    exp_path = os.path.join(d, "expected.json")
    if not os.path.exists(exp_path):
        make_fixtures.make_all(d)
    with open(exp_path, encoding="utf-8") as f:
        return d, json.load(f)


def dir_snapshot(root, hashes=False):
    """{relative path: (kind, mode, size, mtime_ns, sha256)} of everything under root, links
    not followed; sha256 of regular files only with `hashes` (None where unreadable)."""
    snap = {}
    for top, dirs, files in os.walk(root):
        for n in dirs + files:
            full = os.path.join(top, n)
            st = os.lstat(full)
            rel = os.path.relpath(full, root)
            if stat.S_ISREG(st.st_mode):
                snap[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns,
                             _file_sha256(full) if hashes else None)
            else:
                snap[rel] = ("dir" if stat.S_ISDIR(st.st_mode) else "other", stat.S_IMODE(st.st_mode), None, None, None)
    return snap


def _file_sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except PermissionError:   # not root: an unreadable file is compared by its metadata
        return None


def snapshot_changes(before, after):
    """What differs between two dir_snapshot results, one line per path."""
    changes = ["new: " + p for p in sorted(set(after) - set(before))]
    changes += ["gone: " + p for p in sorted(set(before) - set(after))]
    changes += ["changed: %s %s -> %s" % (p, before[p], after[p]) for p in sorted(set(before) & set(after))
                if before[p] != after[p]]
    return changes


# ---------------------------------------------------------------------------------------
# torchrun (Debian's, torch 1.13)

TORCHRUN = "/usr/bin/torchrun"


def free_port():
    """A TCP port nothing uses now, for --master_port: drawn below the kernel's ephemeral range
    (ip_local_port_range), so that no socket bound to port 0 or connecting out (Gloo's, a
    store's, another test's) can take it between this check and torchrun's bind."""
    import random
    import socket
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low = max(1024, ephemeral_low - 12000)
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(low, ephemeral_low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port in [%d, %d)" % (low, ephemeral_low))


def torchrun_command(nproc, program, args, rendezvous="static", python=False, options=(), port=None):
    """torchrun starting `nproc` local workers of `program` (an executable, or a Python
    script with `python`) on a free port. rendezvous "static" (torchrun's default: its agent
    serves the store at --master_port and says so in TORCHELASTIC_USE_AGENT_STORE) or "c10d"
    (the workers' rank 0 serves it at a port the agent picks); `options`: more of torchrun's
    own (--max_restarts 1, --nnodes 2 --node_rank R, ...); `port`: the rendezvous port (the
    same for every node of a job), else a free one.
    torch 1.13's torchrun spells its flags with underscores only, and under Python 3.11 its
    default --redirects/--tee of "0" parse to None (IntFlag no longer iterates Std.NONE) and
    it dies; a mapping for local rank 9 (its syntax allows one digit), which does not exist
    below 10 workers, leaves every worker's output alone, as the default means to. The agent
    looks at its workers every --monitor_interval seconds (default 5): 0.1 so that a test
    does not wait 5 s for an end that has already happened."""
    if nproc > 9:
        raise ValueError("torchrun_command: at most 9 local workers, not %d" % nproc)
    port = str(port or free_port())
    where = {"static": ["--master_addr", "127.0.0.1", "--master_port", port],
             "c10d": ["--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:" + port]}[rendezvous]
    return [TORCHRUN, "--redirects", "9:1", "--tee", "9:1", "--monitor_interval", "0.1", *where,
            *options, *([] if python else ["--no_python"]), "--nproc_per_node", str(nproc), program, *args]
