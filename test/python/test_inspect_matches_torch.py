"""sg-ckpt-inspect against real PyTorch: every fixture made by torch.save (make_fixtures.py)
must be described exactly as Python sees it.

  --json --hash   every tensor's path, dtype, shape, stride, storage_offset, storage key and
                  sharing, bytes, sha256, requires_grad, parameter; top-level keys; scalars;
                  groups (count, parameters, bytes, dtypes); format, root, version
  --json --stats  count/nan/inf/min/max/mean of every floating tensor
  text modes      default summary names every top-level key; --tensors lists every path
  --verify        exit 0 on every fixture (and "ok": true in --json)
  --diff          itself / other formats of the same content: identical, exit 0;
                  sg_sgd.pth vs sg_sgd_modified.pth: exit 1 with exactly the five changes
"""

import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

TENSOR_FIELDS = ("path", "dtype", "shape", "stride", "storage_offset", "bytes", "device",
                 "requires_grad", "parameter")


def expected_groups(exp):
    groups = collections.OrderedDict()
    for t in exp["tensors"]:
        name = t["path"].split("/")[0] if t["path"] else ""
        g = groups.setdefault(name, {"name": name, "tensors": 0, "parameters": 0, "bytes": 0, "dtypes": {}})
        g["tensors"] += 1
        numel = 1
        for s in t["shape"]:
            numel *= s
        g["parameters"] += numel
        g["bytes"] += t["bytes"]
        g["dtypes"][t["dtype"]] = g["dtypes"].get(t["dtype"], 0) + 1
    return list(groups.values())


def partition(entries, key):
    """Sharing structure as a list of index groups, independent of the labels used."""
    first = {}
    out = []
    for i, e in enumerate(entries):
        k = e.get(key) if isinstance(e, dict) else None
        out.append(first.setdefault(k, i))
    return out


def check_file_json(c, name, got, exp, with_hash):
    what = "%s --json%s" % (name, " --hash" if with_hash else "")
    c.eq(got.get("path"), name, what + ": path")
    for k in ("format", "root", "version", "keys"):
        c.eq(got.get(k), exp[k], "%s: %s" % (what, k))
    if exp["scalars"] is not None:
        c.eq(got.get("scalars"), exp["scalars"], what + ": scalars")
    if exp["scalars"] is not None or (exp["tensors"] and exp["tensors"][0]["path"] == ""):
        c.eq(got.get("groups"), expected_groups(exp), what + ": groups")
    tensors = got.get("tensors")
    if not c.check(isinstance(tensors, list), what + ": no \"tensors\" array"):
        return
    got_paths = [t.get("path") for t in tensors]
    exp_paths = [t["path"] for t in exp["tensors"]]
    if not c.eq(got_paths, exp_paths, what + ": tensor paths (in order)"):
        return
    for g, e in zip(tensors, exp["tensors"]):
        tw = "%s: tensor %r" % (what, e["path"])
        for f in TENSOR_FIELDS:
            c.eq(g.get(f), e[f], "%s: %s" % (tw, f))
        if e["storage"] is not None:
            c.eq(g.get("storage"), e["storage"], tw + ": storage record key")
        else:
            c.check(isinstance(g.get("storage"), str) and g.get("storage"),
                    tw + ": storage key missing: %r" % g.get("storage"))
        if with_hash:
            c.eq(g.get("sha256"), e["sha256"], tw + ": sha256")
        else:
            c.check("sha256" not in g, tw + ": sha256 present without --hash")
        c.check("stats" not in g, tw + ": stats present without --stats")
    c.eq(partition(tensors, "storage"), partition(exp["tensors"], "storage_group"),
         what + ": storage sharing (tensors sharing a storage must name the same record)")


def close(a, b, rel):
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b))


def check_stats(c, name, got, exp):
    tensors = got.get("tensors") or []
    if not c.eq([t.get("path") for t in tensors], [t["path"] for t in exp["tensors"]],
                "%s --stats: tensor paths" % name):
        return
    for g, e in zip(tensors, exp["tensors"]):
        tw = "%s --stats: tensor %r (%s)" % (name, e["path"], e["dtype"])
        if "stats" not in e:
            c.check("stats" not in g, tw + ": stats given for a non-floating tensor")
            continue
        st, es = g.get("stats"), e["stats"]
        if not c.check(isinstance(st, dict), tw + ": no stats object"):
            continue
        for k in ("count", "nan", "inf"):
            c.eq(st.get(k), es[k], "%s: stats.%s" % (tw, k))
        if es["min"] is None:   # no finite element: min/max/mean null
            for k in ("min", "max", "mean"):
                c.check(k in st and st[k] is None, "%s: stats.%s = %r, expected null (no finite element)" % (tw, k, st.get(k)))
            continue
        for k in ("min", "max"):
            v = st.get(k)
            c.check(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v) == es[k],
                    "%s: stats.%s = %r, expected %r (over the finite elements)" % (tw, k, v, es[k]))
        v = st.get("mean")
        c.check(isinstance(v, (int, float)) and not isinstance(v, bool) and close(float(v), es["mean"], 1e-6),
                "%s: stats.mean = %r, expected %r (over the finite elements, rel 1e-6)" % (tw, v, es["mean"]))


def check_diff(c, inspect, fx, exp_diff):
    a, b = exp_diff["a"], exp_diff["b"]
    # identical pairs
    for x, y in ((a, a), (a, "legacy_sg.pth"), (a, "sg_deflated.pth"), ("dtypes.pth", "legacy_dtypes.pth"),
                 ("dtypes.pth", "proto5_dtypes.pth"), ("nested.pth", "proto4_nested.pth")):
        r = sgtest.run([inspect, "--diff", x, y], cwd=fx)
        c.check(r.rc == 0, "--diff %s %s: expected exit 0 (identical content): %s" % (x, y, r.describe()))
        doc, r = sgtest.run_json(c, [inspect, "--diff", x, y, "--json"], "--diff %s %s --json" % (x, y), cwd=fx)
        if doc is None:
            continue
        d = doc.get("diff", {})
        c.eq(d.get("identical"), True, "--diff %s %s --json: identical" % (x, y))
        for k in ("added", "removed", "changed", "value_changed", "scalars_changed"):
            c.eq(d.get(k), [], "--diff %s %s --json: %s" % (x, y, k))
    # the modified pair
    r = sgtest.run([inspect, "--diff", a, b], cwd=fx)
    if c.check(r.rc == 1, "--diff %s %s: expected exit 1: %s" % (a, b, r.describe())):
        for p in ("net/extra.weight", "net/fc.bias", "ema_net/fc.weight", "net/layer1.0.conv1.weight", "epoch"):
            c.check(p in r.out, "--diff %s %s (text): does not mention %r: %s" % (a, b, p, sgtest.short(r.out, 600)))
    doc, r = sgtest.run_json(c, [inspect, "--diff", a, b, "--json"], "--diff %s %s --json" % (a, b),
                             expect_rc=1, cwd=fx)
    if doc is None:
        return
    d = doc.get("diff")
    if not c.check(isinstance(d, dict), "--diff --json: no \"diff\" object: %s" % sgtest.short(doc)):
        return
    w = "--diff %s %s --json" % (a, b)
    for k in ("a", "b", "identical", "added", "removed", "changed", "scalars_changed"):
        c.eq(d.get(k), exp_diff[k], "%s: %s" % (w, k))
    vc = d.get("value_changed")
    if c.check(isinstance(vc, list) and len(vc) == 1 and isinstance(vc[0], dict),
               "%s: value_changed = %s, expected exactly %s" % (w, sgtest.short(vc), exp_diff["value_changed"])):
        e = exp_diff["value_changed"][0]
        c.eq(vc[0].get("path"), e["path"], w + ": value_changed path")
        m = vc[0].get("max_abs_diff")
        c.check(isinstance(m, (int, float)) and close(float(m), e["max_abs_diff"], 1e-9),
                "%s: max_abs_diff = %r, expected %r" % (w, m, e["max_abs_diff"]))


def main():
    args = sgtest.parse_args(__doc__)
    sgtest.import_torch()
    os.makedirs(args.workdir, exist_ok=True)
    fx, expected = sgtest.ensure_fixtures(args)
    c = sgtest.Checker("test_inspect_matches_torch")
    inspect = os.path.abspath(args.inspect)
    files = expected["files"]
    names = sorted(files)
    before = sgtest.dir_snapshot(fx)

    for name in names:
        exp = files[name]
        # --json --hash
        doc, r = sgtest.run_json(c, [inspect, "--json", "--hash", name], name + " --json --hash", cwd=fx)
        if doc is not None:
            got = doc.get("files")
            if c.check(isinstance(got, list) and len(got) == 1,
                       "%s --json --hash: \"files\" must be a one-element array: %s" % (name, sgtest.short(doc))):
                check_file_json(c, name, got[0], exp, True)
        # --json --stats, for files with floating tensors
        if any("stats" in t for t in exp["tensors"]):
            doc, r = sgtest.run_json(c, [inspect, "--json", "--stats", name], name + " --json --stats", cwd=fx)
            if doc is not None and isinstance(doc.get("files"), list) and doc["files"]:
                check_stats(c, name, doc["files"][0], exp)
        # default text summary
        r = sgtest.run([inspect, name], cwd=fx)
        if c.check(r.rc == 0 and r.out.strip(), "%s (text): expected exit 0 and a summary: %s" % (name, r.describe())):
            if len(exp["keys"]) <= 30:
                for k in exp["keys"]:
                    c.check(k in r.out, "%s (text): top-level key %r not named: %s" % (name, k, sgtest.short(r.out, 400)))
            c.check(name in r.out, "%s (text): the file is not named" % name)
        # --tensors
        r = sgtest.run([inspect, "--tensors", name], cwd=fx)
        if c.check(r.rc == 0, "%s --tensors: %s" % (name, r.describe())):
            missing = [t["path"] for t in exp["tensors"] if t["path"] and t["path"] not in r.out]
            c.check(not missing, "%s --tensors: %d paths not listed, e.g. %s" % (name, len(missing), missing[:5]))
            lines = [ln for ln in r.out.splitlines() if ln.strip()]
            c.check(len(lines) >= len(exp["tensors"]),
                    "%s --tensors: %d lines for %d tensors" % (name, len(lines), len(exp["tensors"])))
        # --verify
        r = sgtest.run([inspect, "--verify", name], cwd=fx)
        c.check(r.rc == 0, "%s --verify: expected exit 0 on a file torch.save wrote: %s" % (name, r.describe()))

    # several files in one call, in order; --verify --json
    doc, r = sgtest.run_json(c, [inspect, "--json"] + names, "--json <all fixtures>", cwd=fx)
    if doc is not None:
        c.eq([f.get("path") for f in doc.get("files", [])], names, "--json <all fixtures>: files in order")
    doc, r = sgtest.run_json(c, [inspect, "--verify", "--json"] + names, "--verify --json <all fixtures>", cwd=fx)
    if doc is not None:
        for f in doc.get("files", []):
            v = f.get("verify")
            c.check(isinstance(v, dict) and v.get("ok") is True and v.get("problems") == [],
                    "--verify --json: %s: expected {\"ok\": true, \"problems\": []}, got %s" % (f.get("path"), sgtest.short(v)))
        c.check(len(doc.get("files", [])) == len(names), "--verify --json: %d files, expected %d" % (
            len(doc.get("files", [])), len(names)))

    check_diff(c, inspect, fx, expected["diff"])
    c.eq(sgtest.dir_snapshot(fx) == before, True, "sg-ckpt-inspect changed the fixtures folder")
    c.report()


if __name__ == "__main__":
    main()
