"""Checkpoints read (and written) by address: an rclone remote, s3://bucket/key, http://.

Real servers on loopback: s3rver through the s3:// shorthand and the AWS_* environment, and
`rclone serve http` for web addresses. A real torch.save checkpoint is uploaded, then:
- sg-ckpt-inspect (--json, with --hash --verify, and --diff against the local file) gives
  the same document for the remote file as for the local one, but its "path", which is the
  address as given;
- listing a 64 MB remote checkpoint makes the server send less than 1 MiB (ranged reads of
  the end records, central directory and pickle); --hash reads it all;
- sg-ckpt-adapt reads an s3:// input and writes an s3:// output: the object equals what the
  same conversion writes locally; a web address is refused as an output (read-only), and a
  conversion that fails writes no object;
- a missing object, an unknown host and an address without a file: exit 2, one line naming
  the address;
- hostile data: every hostile file of test_hostile_files.py, served from S3, gets the answer
  it gets from local disk (exit status, and the same one line with the address for the path),
  and runs nothing.
"""

import json
import os
import shutil

import remote_servers
import sgtest
import test_hostile_files

torch = sgtest.import_torch()


def run(program, *args, env=None):
    return sgtest.run([program] + list(args), timeout=120, env=env)


def without_path(doc):
    for f in doc["files"]:
        f.pop("path", None)
    return doc


def check_one_error_line(checker, r, program, needle, what):
    lines = [l for l in r.err.strip().splitlines() if l.strip()]
    checker.check(r.rc == 2 and len(lines) == 1 and lines[0].startswith(program + ": error: ") and needle in lines[0],
                  "%s: expected exit 2 and one line naming %s: %s" % (what, needle, r.describe()))


def check_inspect(checker, args, local, remote_url, env, what):
    for extra in ([], ["--hash", "--verify"]):
        l = run(args.inspect, "--json", *extra, local)
        r = run(args.inspect, "--json", *extra, remote_url, env=env)
        if not checker.check(l.rc == 0 and r.rc == 0, "%s %s: both read: local %s / remote %s" % (
                what, extra, l.describe(), r.describe())):
            continue
        ld, rd = json.loads(l.out), json.loads(r.out)
        checker.check(rd["files"][0]["path"] == remote_url, "%s: path is the address as given: %s" % (what, rd["files"][0]["path"]))
        checker.eq(without_path(rd), without_path(ld), "%s %s: remote document equals the local one" % (what, extra))
    text = run(args.inspect, remote_url, env=env)
    checker.check(text.rc == 0 and text.out.startswith(remote_url + ": "), "%s: text names the address: %s" % (what, text.describe()))
    d = run(args.inspect, "--diff", local, remote_url, env=env)
    checker.check(d.rc == 0 and "identical" in d.out, "%s: --diff with the local file: %s" % (what, d.describe()))


def check_listing_reads_little(checker, args, server, url, env, local, what):
    """A listing reads the end records, central directory and pickle: a small part of a 64 MB
    checkpoint, as counted by the server; --hash reads it all."""
    size = os.path.getsize(local)
    expected = json.loads(run(args.inspect, "--json", local).out)
    before = server.bytes_written()
    r = run(args.inspect, "--json", url, env=env)
    listed = server.bytes_written() - before
    if checker.check(r.rc == 0, "%s listing: %s" % (what, r.describe())):
        checker.eq(without_path(json.loads(r.out)), without_path(expected), "%s listing equals the local one" % what)
    checker.check(listed < 1 << 20, "%s listing of %d bytes: the server sent %d bytes (less than 1 MiB expected)" % (
        what, size, listed))
    before = server.bytes_written()
    h = run(args.inspect, "--json", "--hash", url, env=env)
    hashed = server.bytes_written() - before
    checker.check(h.rc == 0 and hashed >= size, "%s --hash reads the whole file (%d of %d bytes): %s" % (
        what, hashed, size, h.describe()))


def check_adapt(checker, args, s3, local, work):
    env = s3.env
    local_out = os.path.join(work, "adapted.pth")
    l = run(args.adapt, local, "--weights-only", "-o", local_out)
    checker.check(l.rc == 0, "adapt locally: %s" % l.describe())
    r = run(args.adapt, s3.url("inputs/ckpt.pth"), "--weights-only", "-o", s3.url("outputs/adapted.pth"), env=env)
    checker.check(r.rc == 0, "adapt s3 -> s3: %s" % r.describe())
    objects = s3.objects("outputs")
    if checker.check(list(objects) == ["adapted.pth"], "adapt: one object under its name: %s" % sorted(objects)):
        with open(objects["adapted.pth"], "rb") as a, open(local_out, "rb") as b:
            checker.check(a.read() == b.read(), "adapt: the uploaded object equals the local conversion")
    refused = run(args.adapt, local, "--weights-only", "-o", "http://127.0.0.1:9/out.pth")
    check_one_error_line(checker, refused, "sg-ckpt-adapt", "http://127.0.0.1:9/out.pth", "adapt to a web address")
    failed = run(args.adapt, s3.url("inputs/ckpt.pth"), "--drop", ".", "--like", local, "--strict", "on",
                 "-o", s3.url("outputs/failed.pth"), env=env)
    checker.check(failed.rc != 0 and "failed.pth" not in s3.objects("outputs"),
                  "adapt that fails writes no object: %s / %s" % (failed.describe(), sorted(s3.objects("outputs"))))


def check_missing(checker, args, s3, web):
    for url, env in ((s3.url("inputs/missing.pth"), s3.env), (web.url("missing.pth"), None),
                     ("http://127.0.0.1:%d/ckpt.pth" % sgtest.free_port(), None), (web.url(""), None)):
        r = run(args.inspect, url, env=env)
        check_one_error_line(checker, r, "sg-ckpt-inspect", url, "inspect " + url)


def check_hostile(checker, args, s3, work):
    hdir = sgtest.fresh_dir(os.path.join(work, "hostile"))
    markers = sgtest.fresh_dir(os.path.join(work, "markers"))
    cases, _ = test_hostile_files.build_cases(hdir, markers, sgtest.fresh_dir(os.path.join(work, "control")))
    files = [f for f, _ in cases if os.path.isfile(os.path.join(hdir, f))]
    checker.check(len(files) >= 30, "test bug: only %d hostile files" % len(files))
    remote_servers.rclone("copy", hdir, s3.remote("hostile"))
    for name in files:
        url = s3.url("hostile/" + name)
        for extra in ([], ["--json", "--hash"]):
            l = sgtest.run([args.inspect] + extra + [name], timeout=60, cwd=hdir)
            r = run(args.inspect, *(extra + [url]), env=s3.env)
            checker.check((r.rc, r.err.replace(url, "NAME")) == (l.rc, l.err.replace(name, "NAME")) and l.rc == 2,
                          "hostile %s %s: remote answer differs from the local one:\n  local  %s\n  remote %s" % (
                              name, extra, l.describe(), r.describe()))
    checker.check(not os.listdir(markers), "hostile: code ran: %s" % os.listdir(markers))


def main():
    args = sgtest.parse_args(__doc__, paths=("adapt",))
    work = sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("remote_inputs")
    local = os.path.join(work, "ckpt.pth")
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Flatten(), torch.nn.LazyLinear(4))
    net(torch.zeros(1, 3, 8, 8))
    torch.save({"net": net.state_dict(), "epoch": 3, "acc": 0.5}, local)

    servers = sgtest.fresh_dir(os.path.join(work, "servers"))
    s3 = remote_servers.S3Server(os.path.join(servers, "s3"))
    web_dir = os.path.join(servers, "web")
    os.makedirs(web_dir)
    shutil.copy(local, os.path.join(web_dir, "ckpt.pth"))
    web = remote_servers.WebServer(web_dir)
    try:
        remote_servers.rclone("copyto", local, s3.remote("inputs/ckpt.pth"))
        check_inspect(checker, args, local, s3.url("inputs/ckpt.pth"), s3.env, "s3://")
        check_inspect(checker, args, local, s3.remote("inputs/ckpt.pth"), None, "rclone remote")
        check_inspect(checker, args, local, web.url("ckpt.pth"), None, "http://")
        large = os.path.join(work, "large.pth")
        torch.save({"net": {"layer%d.weight" % i: torch.full((1 << 20,), float(i)) for i in range(16)}, "epoch": 9}, large)
        remote_servers.rclone("copyto", large, s3.remote("inputs/large.pth"))
        shutil.copy(large, os.path.join(web_dir, "large.pth"))
        check_listing_reads_little(checker, args, s3, s3.url("inputs/large.pth"), s3.env, large, "s3://")
        check_listing_reads_little(checker, args, web, web.url("large.pth"), None, large, "http://")
        check_adapt(checker, args, s3, local, work)
        check_missing(checker, args, s3, web)
        check_hostile(checker, args, s3, work)
    finally:
        s3.stop()
        web.stop()
    checker.report()


if __name__ == "__main__":
    main()
