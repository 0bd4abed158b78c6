"""The loopback storage servers of the remote-checkpoint tests (remote_servers.py) work with rclone.

For npm's s3rver and `rclone serve webdav`, each started by the test on a free port:
- `rclone copyto` uploads a file; `rclone lsjson` of the object's path lists it with its size;
  `rclone cat --offset --count` returns exactly those bytes; `rclone moveto` renames it;
- with the server stopped (killed, port closed) rclone fails quickly (non-zero exit within its
  timeouts, "connection refused") for a listing, an upload and a read;
- started again on the same port, the server still has the object, byte for byte, and its bytes
  are on disk where S3Server.objects() / the served folder say;
- S3 with the keys from the environment (env_auth, the server's .env) works, and an unknown access
  key id is refused (403 InvalidAccessKeyId); WebDAV with a user refuses a wrong password (401);
- after the `with` block the server processes are gone and their ports closed.
"""

import json
import os
import random
import time

import sgtest
import remote_servers
from remote_servers import S3Server, WebdavServer, rclone

FAIL_FAST_S = 15   # --contimeout 5s / --timeout 10s: a dead server is an error well within this


def lsjson(checker, remote, what, env=None):
    r = rclone("lsjson", remote, env=env, check=False)
    if not checker.check(r.returncode == 0, "%s: lsjson %s: exit %d: %s" % (
            what, remote, r.returncode, r.stderr.decode("utf-8", "replace")[-600:])):
        return None
    return json.loads(r.stdout)


def names_sizes(entries):
    return sorted((e["Name"], e["Size"]) for e in entries or [] if not e["IsDir"])


def check_server(checker, server, what, data, workdir):
    src = os.path.join(workdir, what + ".bin")
    with open(src, "wb") as f:
        f.write(data)
    obj, moved = server.remote("t/obj.bin"), server.remote("t/moved.bin")

    r = rclone("copyto", src, obj, check=False)
    if not checker.check(r.returncode == 0, "%s: copyto: %s" % (what, r.stderr.decode("utf-8", "replace"))):
        return
    checker.eq(names_sizes(lsjson(checker, obj, what)), [("obj.bin", len(data))],
               "%s: lsjson of the object's path after copyto" % what)

    lo, n = 1000, 5000
    r = rclone("cat", "--offset", lo, "--count", n, obj, check=False)
    checker.check(r.returncode == 0 and r.stdout == data[lo:lo + n],
                  "%s: cat --offset %d --count %d: exit %d, %d bytes, equal: %s" % (
                      what, lo, n, r.returncode, len(r.stdout), r.stdout == data[lo:lo + n]))

    r = rclone("moveto", obj, moved, check=False)
    checker.check(r.returncode == 0, "%s: moveto: %s" % (what, r.stderr.decode("utf-8", "replace")))
    checker.eq(names_sizes(lsjson(checker, server.remote("t"), what)), [("moved.bin", len(data))],
               "%s: the folder after moveto" % what)

    server.stop()
    checker.check(not server.running, "%s: stopped" % what)
    for args in (["lsjson", moved], ["copyto", src, obj], ["cat", "--count", 10, moved]):
        t0 = time.monotonic()
        r = rclone(*args, check=False)
        dt = time.monotonic() - t0
        err = r.stderr.decode("utf-8", "replace")
        checker.check(r.returncode != 0 and dt < FAIL_FAST_S and "connection refused" in err,
                      "%s down: rclone %s: exit %d after %.1f s (expected non-zero within %d s, connection "
                      "refused): %s" % (what, args[0], r.returncode, dt, FAIL_FAST_S, err[-600:]))

    port = server.port
    server.start()
    checker.check(server.running and server.port == port, "%s: started again on port %s (%s)" % (what, port, server.port))
    checker.eq(names_sizes(lsjson(checker, server.remote("t"), what + " restarted")), [("moved.bin", len(data))],
               "%s: the folder after the restart" % what)
    r = rclone("cat", moved, check=False)
    checker.check(r.returncode == 0 and r.stdout == data,
                  "%s: the object after the restart equals the upload: exit %d, %d bytes" % (
                      what, r.returncode, len(r.stdout)))
    if isinstance(server, S3Server):
        on_disk = server.objects("t")
        checker.eq(sorted(on_disk), ["moved.bin"], "s3: the objects under t/ read from s3rver's folder")
        if "moved.bin" in on_disk:
            with open(on_disk["moved.bin"], "rb") as f:
                checker.check(f.read() == data, "s3: the bytes of t/moved.bin in s3rver's folder equal the upload")
    else:
        with open(os.path.join(server.data_dir, "t", "moved.bin"), "rb") as f:
            checker.check(f.read() == data, "webdav: the served folder holds t/moved.bin, equal to the upload")


def check_s3_credentials(checker, s3):
    entries = lsjson(checker, s3.env_remote("t"), "s3 env_auth", env=s3.env)
    checker.eq(names_sizes(entries), names_sizes(lsjson(checker, s3.remote("t"), "s3")),
               "s3: env_auth=true with the server's .env lists what the keyed remote lists")
    r = rclone("lsjson", s3.remote("t", access_key_id="NOBODY"), check=False)
    err = r.stderr.decode("utf-8", "replace")
    checker.check(r.returncode != 0 and "InvalidAccessKeyId" in err,
                  "s3: an unknown access key id is refused: exit %d: %s" % (r.returncode, err[-400:]))
    r = rclone("lsjson", s3.env_remote("t"), env=dict(s3.env, AWS_ACCESS_KEY_ID="NOBODY"), check=False)
    checker.check(r.returncode != 0 and "InvalidAccessKeyId" in r.stderr.decode("utf-8", "replace"),
                  "s3: env_auth reads AWS_ACCESS_KEY_ID (an unknown one is refused): exit %d" % r.returncode)


def check_webdav_auth(checker, workdir):
    with WebdavServer(os.path.join(workdir, "dav_auth"), user="sg", password="pa:ss,w'd") as dav:
        lsjson(checker, dav.remote(""), "webdav with user and password")
        r = rclone("lsjson", dav.remote("", password="wrong"), check=False)
        err = r.stderr.decode("utf-8", "replace")
        checker.check(r.returncode != 0 and "401" in err,
                      "webdav: a wrong password is refused: exit %d: %s" % (r.returncode, err[-400:]))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False)
    checker = sgtest.Checker("test_remote_servers")
    workdir = sgtest.fresh_dir(args.workdir)
    data = random.Random(17).randbytes(3 << 20)
    procs = []
    try:
        with S3Server(os.path.join(workdir, "s3")) as s3, WebdavServer(os.path.join(workdir, "dav")) as dav:
            for server, what in ((s3, "s3"), (dav, "webdav")):
                check_server(checker, server, what, data, workdir)
                procs.append((what, server.proc, server.port))
            check_s3_credentials(checker, s3)
            check_webdav_auth(checker, workdir)
    except remote_servers.MissingTool as e:
        checker.fail(str(e))
    for what, proc, port in procs:
        checker.check(proc.poll() is not None and not remote_servers._port_open(port),
                      "%s: after the with block the process has ended and port %d is closed" % (what, port))
    checker.report()


if __name__ == "__main__":
    main()
