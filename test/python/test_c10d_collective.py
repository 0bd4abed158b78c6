"""sg::C10dCollective under Debian's torchrun: two ranks of test/tools/sg_collective_probe.

Every method is called with rank-dependent values; each rank writes what it passed and what
it got (rank<R>.pth, read here with torch.load), and the results must be exact: the weights
equal rank 0's, each gradient the mean over the ranks (a rank without one counting zeros,
none anywhere staying None), the counts summed, any() true on both ranks when rank 1 alone
asked, the run directory rank 0's. Then rank 1 leaves (exit 0) or stalls before a collective:
rank 0 must fail with one line naming that collective and the lost rank, within the probe's
timeout, and torchrun must exit non-zero without any rank writing its results.

Against real PyTorch: the same gradients through Python's DistributedDataParallel (Gloo,
find_unused_parameters=True), two ranks under torchrun running this script with
--ddp-reference, must give exactly our averaged gradients, None where DDP leaves None.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

WORLD = 2
TIMEOUT_MS = 3000          # the lost-peer cases: what rank 0 may wait
GENEROUS_TIMEOUT_MS = 60000   # the runs that must succeed, however loaded the machine
HANG_GUARD_S = 120   # only if something hangs past the probe's own timeout


def parse():
    def extra(p):
        p.add_argument("--part", choices=("collectives", "ddp"), required=True,
                       help="collectives: results and lost peers; ddp: against Python's DistributedDataParallel")
    return sgtest.parse_args(__doc__.splitlines()[0], need_inspect=False, paths=("probe",), extra=extra)


def launch(args, out, *probe_args, rendezvous="static", timeout_ms=GENEROUS_TIMEOUT_MS):
    os.makedirs(out)
    cmd = sgtest.torchrun_command(WORLD, args.probe, ["--out", out, "--timeout-ms", str(timeout_ms), *probe_args],
                                  rendezvous=rendezvous)
    return sgtest.run(cmd, timeout=HANG_GUARD_S)


def ddp_reference(probe_dir, out_dir):
    """One rank of the DDP reference (run by torchrun): this rank's probe gradients as the
    gradients of a DDP-wrapped module's parameters, written to out_dir/rank<R>.pth."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    inputs = torch.load(os.path.join(probe_dir, "rank%d.pth" % rank))["inputs"]

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = torch.nn.ParameterList([torch.nn.Parameter(p.clone()) for p in inputs["params"]])

        def forward(self, grads):   # d(sum(p * g))/dp = g; a parameter without g is unused here
            return sum((p * g).sum() for p, g in zip(self.ps, grads) if g is not None)

    model = DistributedDataParallel(Probe(), find_unused_parameters=True)
    model(inputs["grads"]).backward()
    torch.save([None if p.grad is None else p.grad for p in model.module.ps],
               os.path.join(out_dir, "rank%d.pth" % rank))
    dist.destroy_process_group()


def check_against_ddp(c, args, probe_dir):
    out = os.path.join(args.workdir, "ddp")
    os.makedirs(out)
    cmd = sgtest.torchrun_command(WORLD, os.path.abspath(__file__), ["--ddp-reference", probe_dir, out], python=True)
    r = sgtest.run(cmd, timeout=HANG_GUARD_S)
    if not c.check(r.rc == 0, "Python DDP reference should exit 0: " + r.describe()):
        return
    for rank in range(WORLD):
        ours = torch.load(os.path.join(probe_dir, "rank%d.pth" % rank))["outputs"]["grads"]
        theirs = torch.load(os.path.join(out, "rank%d.pth" % rank))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            c.check(same_tensor(a, b), "rank %d: gradient %d: ours %s, Python DDP's %s" % (rank, i, a, b))


def expected_mean(grads):
    if all(g is None for g in grads):
        return None
    like = next(g for g in grads if g is not None)
    # Each rank's share divided before the sum, as Python DDP's default hook and ours do.
    total = torch.zeros_like(like)
    for g in grads:
        total += (g if g is not None else torch.zeros_like(like)) / WORLD
    return total


def same_tensor(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def check_results(c, args, rendezvous, *probe_args):
    out = os.path.join(args.workdir, "all-" + rendezvous)
    r = launch(args, out, *probe_args, rendezvous=rendezvous)
    if not c.check(r.rc == 0, "all collectives (%s rendezvous): torchrun should exit 0: %s" % (rendezvous, r.describe())):
        return None
    docs = [torch.load(os.path.join(out, "rank%d.pth" % rank)) for rank in range(WORLD)]
    inputs = [d["inputs"] for d in docs]
    c.check(not same_tensor(inputs[1]["weights"][0], inputs[0]["weights"][0]), "the ranks' weights should differ")
    for rank, doc in enumerate(docs):
        got, where = doc["outputs"], "%s rendezvous, rank %d: " % (rendezvous, rank)
        c.eq([got["rank"], got["world_size"]], [rank, WORLD], where + "rank and world size")
        for i, (w, w0) in enumerate(zip(got["weights"], inputs[0]["weights"])):
            c.check(same_tensor(w, w0), where + "weight %d %s is not rank 0's %s" % (i, w, w0))
        for i, g in enumerate(got["grads"]):
            want = expected_mean([inp["grads"][i] for inp in inputs])
            c.check(same_tensor(g, want), where + "gradient %d: got %s, expected the mean %s" % (i, g, want))
        c.eq(got["counts"], {k: sum(inp["counts"][k] for inp in inputs) for k in ("samples", "top1", "top5", "loss_sum")},
             where + "summed counts")
        c.eq(got["average_gradients_stop"], True, where + "the stop agreed with the gradients when rank 1 asked")
        c.eq(got["average_gradients_save"], False, where + "no save agreed with the gradients when none asked")
        c.eq(got["any_rank1_asked"], True, where + "any() when rank 1 asked")
        c.eq(got["any_none_asked"], False, where + "any() when no rank asked")
        c.eq(got["run_directory"], inputs[0]["run_directory"], where + "run directory")
        c.eq(got["empty_run_directory"], "", where + "rank 0's empty run directory")
    c.check(inputs[0]["run_directory"] != inputs[1]["run_directory"], "the ranks should choose different directories")
    return out


def check_lost_peer(c, args, mode, collective, verb, lost):
    out = os.path.join(args.workdir, mode + "-" + collective)
    r = launch(args, out, "--" + mode, collective, timeout_ms=TIMEOUT_MS)
    what = "rank 1 %s before %s: " % (mode, collective)
    c.check(r.rc not in (0, None), what + "torchrun should exit non-zero: " + r.describe())
    ours = [line for line in r.err.splitlines() if line.startswith("sg_collective_probe: error:")]
    want = "sg_collective_probe: error: c10d %s %s on rank 0 of 2, %s rank 1 (collective timeout 3 s): " % (
        collective, verb, lost)
    c.check(len(ours) == 1 and ours[0].startswith(want),
            what + "expected one line starting %r, got %s; stderr %s" % (want, ours, sgtest.short(r.err, 1500)))
    c.eq(sorted(os.listdir(out)), [], what + "no rank should write results")
    return r


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--ddp-reference":
        return ddp_reference(sys.argv[2], sys.argv[3])
    args = parse()
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_c10d_collective " + args.part)
    # Several buckets (one tensor larger than a bucket) through torchrun's agent store.
    probe_dir = check_results(c, args, "static", "--bucket-bytes", "40")
    if args.part == "ddp":
        if probe_dir:
            check_against_ddp(c, args, probe_dir)
        c.report()
    # One bucket per dtype through a store that rank 0 serves.
    check_results(c, args, "c10d")
    # A peer that is gone: rank 0 learns it from the closed connection, before the timeout.
    check_lost_peer(c, args, "rank1-exit-before", "average_gradients", "failed", "lost")
    # A peer that is alive but never arrives: rank 0 waits the whole timeout, then fails.
    r = check_lost_peer(c, args, "rank1-stall-before", "sum_counts", "timed out", "waiting for")
    c.check(r.seconds >= TIMEOUT_MS / 1000, "a stalled peer: the run took %.1f s, less than the timeout" % r.seconds)
    c.report()


if __name__ == "__main__":
    main()
