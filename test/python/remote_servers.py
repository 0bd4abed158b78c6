"""Real storage servers on loopback for the remote-checkpoint tests (stdlib only), and rclone.

    with S3Server(os.path.join(workdir, "s3")) as s3, WebdavServer(os.path.join(workdir, "dav")) as dav:
        rclone("copyto", local_file, s3.remote("run/ckpt.pth"))
        s3.stop()    # the server is down (killed, port closed) ...
        s3.start()   # ... and back, on the same port with the same data

S3Server runs npm's s3rver (scripts/setup installs it into build-tools/node), WebdavServer runs
`rclone serve webdav` of a local folder. Each listens on 127.0.0.1 on a free port drawn below the
kernel's ephemeral range (so that no client connection takes it while the server is down), logs to
<data_dir>.log, and is killed when the `with` block ends, when this process exits, and - through
PR_SET_PDEATHSIG - when this process is killed (a CTest timeout). Start them from the main thread:
the death signal follows the thread that started the server.

Things a test has to know about these servers (rclone 1.60, s3rver 3.7.1):
  - s3rver writes an object in place while it arrives (PUT, multipart completion, CopyObject all
    stream into <key>._S3rver_object), so a partial object is visible under its name for the
    length of the write, and stays there if the server is killed then; it checks the access key id
    (InvalidAccessKeyId, 403) but not the V4 signature, so a wrong secret is accepted; requests
    without any Authorization header are accepted too.
  - `rclone serve webdav` also writes the file in place: a PUT is visible (growing) under its name
    and a killed upload leaves the partial file.
  - rclone's S3 backend fails at once ("LoadCustomCABundleError") when AWS_CA_BUNDLE is set, and
    rclone 1.60 ignores AWS_ENDPOINT_URL: clean_env() drops every AWS_* and RCLONE_* variable the
    test process has, and the remotes below carry the endpoint as a parameter.
"""

import atexit
import base64
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import weakref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402  (free_port)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3RVER_JS = os.environ.get("SG_S3RVER") or os.path.join(
    ROOT, "build-tools", "node", "node_modules", "s3rver", "bin", "s3rver.js")

# Every rclone run of the tests: no user configuration, one try, and timeouts that turn a dead or
# stalled server into a failure within seconds.
RCLONE_FLAGS = ["--config", os.devnull, "--retries", "1", "--low-level-retries", "1",
                "--contimeout", "5s", "--timeout", "10s"]

S3_KEY = "S3RVER"       # s3rver's built-in account: access key id and secret
S3_REGION = "us-east-1"
OBJECT_SUFFIX = "._S3rver_object"   # s3rver's file of an object's bytes: <key>._S3rver_object
READY_DEADLINE_S = 60   # a server that does not answer by then has hung: only a failure bound


class MissingTool(RuntimeError):
    pass


class RcloneError(subprocess.CalledProcessError):
    def __str__(self):
        err = self.stderr.decode("utf-8", "replace") if isinstance(self.stderr, bytes) else (self.stderr or "")
        return "`%s` exited %s: %s" % (" ".join(self.cmd), self.returncode, err.strip()[-2000:])


def rclone_path():
    path = shutil.which("rclone")
    if not path:
        raise MissingTool("rclone is not installed (Debian's rclone package: run scripts/setup)")
    return path


def node_path():
    path = shutil.which("node")
    if not path:
        raise MissingTool("node is not installed (Debian's nodejs package: run scripts/setup)")
    return path


def clean_env(extra=None):
    """This process's environment without any AWS_* or RCLONE_* variable (a user's RCLONE_CONFIG,
    AWS_PROFILE or AWS_CA_BUNDLE, which makes rclone 1.60's S3 backend fail), plus `extra`: the
    environment for rclone and for programs under test that run rclone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(extra or {})
    return env


def rclone(*args, env=None, check=True, timeout=300, input=None):
    """Runs rclone RCLONE_FLAGS ARGS (no shell) in clean_env(env); a CompletedProcess with bytes
    stdout and stderr. check: an exit other than 0 raises RcloneError, whose message has stderr."""
    cmd = [rclone_path()] + RCLONE_FLAGS + [str(a) for a in args]
    r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=clean_env(env), timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RcloneError(r.returncode, cmd, r.stdout, r.stderr)
    return r


def quote(value):
    """A value for an rclone on-the-fly remote (`:backend,key=value,...:path`): one with ':', ',',
    a quote or a space is put in single quotes, a single quote inside doubled."""
    value = str(value)
    if any(c in value for c in ":,'\" "):
        return "'" + value.replace("'", "''") + "'"
    return value


def on_the_fly(backend, params, path):
    return ":%s%s:%s" % (backend, "".join(",%s=%s" % (k, quote(v)) for k, v in params.items()), path)


# ---------------------------------------------------------------------------------------
# Processes

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_running = weakref.WeakSet()


@atexit.register
def _kill_all():
    for server in list(_running):
        server.stop()


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class _Server:
    """A server process on 127.0.0.1:port serving data_dir; subclasses give command() and ready()."""
    name = "server"

    def __init__(self, data_dir):
        self.data_dir = os.path.abspath(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = self.data_dir.rstrip("/") + ".log"
        self.port = None
        self.proc = None
        self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __del__(self):
        if getattr(self, "proc", None) is not None:
            self.stop()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def start(self):
        """Starts the server (the same port and data after a stop()) and waits until it answers."""
        if self.running:
            return self
        tries = 1 if self.port else 3   # a first start may lose its port to another program: draw again
        for attempt in range(tries):
            port = self.port or sgtest.free_port()
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             preexec_fn=_die_with_parent, env=clean_env())
            finally:
                log.close()
            _running.add(self)
            if self._wait_ready(port):
                self.port = port
                return self
            self.stop()
            if attempt + 1 == tries:
                raise RuntimeError("%s did not start on 127.0.0.1:%d (%s): %s" % (
                    self.name, port, "exit %s" % self.proc.returncode if self.proc.returncode is not None
                    else "no answer in %d s" % READY_DEADLINE_S, self.log_tail()))
        return self

    def _wait_ready(self, port):
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False   # it ended (a port taken: EADDRINUSE in the log)
            if _port_open(port) and self.ready(port):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        """Kills the server (SIGKILL: down as after a crash) and waits until its port is closed."""
        proc, self.proc = getattr(self, "proc", None), None
        _running.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if self.port:
            deadline = time.monotonic() + READY_DEADLINE_S
            while _port_open(self.port):
                if time.monotonic() > deadline:
                    raise RuntimeError("%s port %d still open after the kill" % (self.name, self.port))
                time.sleep(0.05)

    def bytes_written(self):
        """What the server process has written so far, to its clients and its log (wchar of
        /proc/PID/io): the upper bound of what it sent."""
        with open("/proc/%d/io" % self.proc.pid) as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
        raise RuntimeError("no wchar in /proc/%d/io" % self.proc.pid)

    def _answers(self, url, headers=None, method="GET"):
        try:
            req = urllib.request.Request(url, headers=headers or {}, method=method)
            with urllib.request.urlopen(req, timeout=5) as r:
                r.read()
                return 200 <= r.status < 300
        except (urllib.error.URLError, OSError):
            return False


class S3Server(_Server):
    """npm's s3rver with its data in data_dir (each sub-folder a bucket) and `bucket` made at start."""
    name = "s3rver"

    def __init__(self, data_dir, bucket="checkpoints"):
        self.bucket = bucket
        if not os.path.isfile(S3RVER_JS):
            raise MissingTool("s3rver is not installed at %s (scripts/setup installs it with npm)" % S3RVER_JS)
        self._node = node_path()
        super().__init__(data_dir)

    def command(self, port):
        return [self._node, S3RVER_JS, "--directory", self.data_dir, "--address", "127.0.0.1",
                "--port", str(port), "--no-vhost-buckets", "--configure-bucket", self.bucket]

    def ready(self, port):
        # An unsigned ListObjects of the bucket (s3rver makes the bucket before it listens).
        return self._answers("http://127.0.0.1:%d/%s?max-keys=1" % (port, self.bucket))

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def env(self):
        """The usual S3 environment for this server (for `s3://` locations and env_auth)."""
        return {"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": S3_REGION}

    def _params(self, env_auth, extra):
        params = {"provider": "Other"}
        if env_auth:
            params["env_auth"] = "true"
        else:
            params.update(env_auth="false", access_key_id=S3_KEY, secret_access_key=S3_KEY)
        params.update(endpoint=self.endpoint, region=S3_REGION, force_path_style="true")
        params.update(extra)
        return params

    def remote(self, prefix="", bucket=None, **params):
        """An on-the-fly rclone S3 remote for bucket/prefix with the credentials in it; `params`
        add or override backend options (no_check_bucket="true", access_key_id="NOBODY", ...)."""
        path = (bucket or self.bucket) + ("/" + prefix.lstrip("/") if prefix else "")
        return on_the_fly("s3", self._params(False, params), path)

    def env_remote(self, prefix="", bucket=None, **params):
        """The same with env_auth=true: the keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
        (pass env=self.env); the endpoint is still a parameter, rclone 1.60 ignores AWS_ENDPOINT_URL."""
        path = (bucket or self.bucket) + ("/" + prefix.lstrip("/") if prefix else "")
        return on_the_fly("s3", self._params(True, params), path)

    def url(self, prefix=""):
        """The s3://bucket/prefix shorthand (with self.env)."""
        return "s3://%s/%s" % (self.bucket, prefix.lstrip("/"))

    def objects_dir(self, bucket=None):
        """The bucket's folder on disk. Its files are NOT named as the objects: s3rver keeps the
        bytes of key K in K._S3rver_object, next to K._S3rver_object.md5 and K._S3rver_metadata.json
        (and multipart parts under ._S3rver_uploads/). Use objects() for the objects by name."""
        return os.path.join(self.data_dir, bucket or self.bucket)

    def object_path(self, key, bucket=None):
        """Where s3rver keeps the bytes of bucket/key on disk (for reading them, or planting
        hostile data: listings take the size from this file)."""
        return os.path.join(self.objects_dir(bucket), key + OBJECT_SUFFIX)

    def objects(self, prefix="", bucket=None):
        """{key relative to prefix: path of its bytes on disk} for every object under prefix (a
        folder: "runs/exp" means the keys runs/exp/...), read from the disk now, as s3rver lists."""
        root = os.path.join(self.objects_dir(bucket), prefix.strip("/"))
        out = {}
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != "._S3rver_uploads"]
            for name in files:
                if name.endswith(OBJECT_SUFFIX):
                    path = os.path.join(top, name)
                    out[os.path.relpath(path, root)[:-len(OBJECT_SUFFIX)]] = path
        return out


class WebdavServer(_Server):
    """`rclone serve webdav` of data_dir; with user and password, basic authentication. The
    directory cache is off, so files put into data_dir directly are served at once."""
    name = "rclone serve webdav"

    def __init__(self, data_dir, user=None, password=None):
        self.user, self.password = user, password
        self._rclone = rclone_path()
        self._obscured = None
        super().__init__(data_dir)

    def command(self, port):
        cmd = [self._rclone, "--config", os.devnull, "serve", "webdav", self.data_dir,
               "--addr", "127.0.0.1:%d" % port, "--dir-cache-time", "0s", "--poll-interval", "0"]
        if self.user is not None:
            cmd += ["--user", self.user, "--pass", self.password]
        return cmd

    def ready(self, port):
        headers = {"Depth": "0"}
        if self.user is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % (self.user, self.password)).encode()).decode()
        return self._answers("http://127.0.0.1:%d/" % port, headers, method="PROPFIND")

    @property
    def url(self):
        return "http://127.0.0.1:%d/" % self.port

    def remote(self, prefix="", user=None, password=None, **params):
        """An on-the-fly rclone WebDAV remote for prefix, with this server's credentials unless
        user / password are given (rclone wants the password obscured: done here)."""
        user = self.user if user is None else user
        password = self.password if password is None else password
        p = {"url": self.url}
        if user is not None:
            p["user"] = user
            p["pass"] = rclone("obscure", password).stdout.decode().strip()
        p.update(params)
        return on_the_fly("webdav", p, prefix.lstrip("/"))


class WebServer(_Server):
    """`rclone serve http` of data_dir: plain web addresses (http://127.0.0.1:port/name)."""
    name = "rclone serve http"

    def __init__(self, data_dir):
        self._rclone = rclone_path()
        super().__init__(data_dir)

    def command(self, port):
        return [self._rclone, "--config", os.devnull, "serve", "http", self.data_dir,
                "--addr", "127.0.0.1:%d" % port, "--dir-cache-time", "0s", "--poll-interval", "0"]

    def ready(self, port):
        return self._answers("http://127.0.0.1:%d/" % port)

    def url(self, name=""):
        return "http://127.0.0.1:%d/%s" % (self.port, name.lstrip("/"))
