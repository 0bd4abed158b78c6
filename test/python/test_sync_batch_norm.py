"""Synchronised BatchNorm (SG's sync_bn) over sg::C10dCollective, against Python PyTorch.

Python writes a small conv + BatchNorm net's initial state and S batches of 2B images;
test/tools/sg_sync_bn_probe trains it under Debian's torchrun on 2 ranks, each with its half
of every batch (B), averaged gradients and SGD with momentum. Python torch trains the same
net from the same state on the whole batches in one process: every weight and running
statistic of both ranks must be within 1e-5 (relative to the tensor's largest value) of
Python's, num_batches_tracked equal, both ranks' states identical, and the mean of the ranks'
losses Python's loss at every step. The control: with --local (each rank's own statistics)
the running statistics must be measurably off, so the comparison can tell the two apart.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402

torch = sgtest.import_torch()

WORLD = 2
STEPS, BATCH, CHANNELS, SIDE, CLASSES = 4, 8, 3, 6, 2   # BATCH: the whole batch, 2B
LR, MOMENTUM = 0.1, 0.9
TOLERANCE = 1e-5
HANG_GUARD_S = 120   # only if something hangs past the probe's own collective timeout


def make_net():
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(CHANNELS, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 3, 3), nn.BatchNorm2d(3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(3, CLASSES))


def write_data(path):
    torch.manual_seed(3)
    net = make_net()
    with torch.no_grad():   # statistics and affine weights away from their initial 0 / 1
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    # Each channel its own offset and scale, and the two halves of a batch apart, so that
    # local statistics differ from the whole batch's.
    inputs = torch.randn(STEPS, BATCH, CHANNELS, SIDE, SIDE) * torch.tensor([1.0, 2.0, 0.5]).view(1, 1, 3, 1, 1)
    inputs[:, BATCH // 2:] += 1.5
    targets = torch.randint(0, CLASSES, (STEPS, BATCH))
    targets[0, 0], targets[0, 1] = 0, CLASSES - 1   # every class present
    torch.save({"state_dict": net.state_dict(), "inputs": inputs, "targets": targets}, path)


def reference(data):
    """The whole batches through Python torch in one process: final state and losses."""
    net = make_net()
    net.load_state_dict(data["state_dict"])
    net.train()
    sgd = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    losses = []
    for x, y in zip(data["inputs"], data["targets"]):
        sgd.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        sgd.step()
        losses.append(loss.item())
    return net.state_dict(), losses


def data_state(path):
    return torch.load(path)["state_dict"]


def relative_error(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-12)).item()


def launch(args, data_path, name, *probe_args):
    out = os.path.join(args.workdir, name)
    os.makedirs(out)
    cmd = sgtest.torchrun_command(WORLD, args.probe, ["--data", data_path, "--out", out, "--lr", str(LR),
                                                      "--momentum", str(MOMENTUM), *probe_args])
    r = sgtest.run(cmd, timeout=HANG_GUARD_S)
    if r.rc != 0:
        return None, r
    return [torch.load(os.path.join(out, "rank%d.pth" % rank)) for rank in range(WORLD)], r


def check_synchronised(c, args, data_path, want_state, want_losses):
    docs, r = launch(args, data_path, "sync")
    if not c.check(docs is not None, "synchronised run: torchrun should exit 0: " + r.describe()):
        return
    for rank, doc in enumerate(docs):
        where = "synchronised, rank %d: " % rank
        c.eq(doc["synchronised"], 2, where + "batch norms switched")
        state = doc["state_dict"]
        c.eq(list(state), list(want_state), where + "state dict keys")
        for key, want in want_state.items():
            got = state[key]
            if not c.check(got.dtype == want.dtype and got.shape == want.shape,
                           where + "%s: %s %s, Python's %s %s" % (key, got.dtype, tuple(got.shape), want.dtype,
                                                                 tuple(want.shape))):
                continue
            if key.endswith("num_batches_tracked"):
                c.check(torch.equal(got, want), where + "%s: %d, Python's %d" % (key, got, want))
            else:
                err = relative_error(got, want)
                c.check(err <= TOLERANCE, where + "%s: relative error %.3g over %g" % (key, err, TOLERANCE))
            c.check(torch.equal(got, docs[0]["state_dict"][key]), where + key + " differs from rank 0's")
        # Training moved the statistics, so that their equality above says something.
        c.check(relative_error(state["1.running_mean"], data_state(data_path)["1.running_mean"]) > 1e-2,
                where + "running_mean did not move")
    for step, want in enumerate(want_losses):
        mean = sum(doc["losses"][step].item() for doc in docs) / WORLD
        c.check(abs(mean - want) <= TOLERANCE * abs(want),
                "step %d: mean of the ranks' losses %.8f, Python's whole-batch loss %.8f" % (step, mean, want))


def check_local_control(c, args, data_path, want_state):
    docs, r = launch(args, data_path, "local", "--local")
    if not c.check(docs is not None, "local-statistics run: torchrun should exit 0: " + r.describe()):
        return
    c.eq(docs[0]["synchronised"], 0, "local run: batch norms switched")
    for key in ("1.running_mean", "4.running_var"):
        err = relative_error(docs[0]["state_dict"][key], want_state[key])
        c.check(err > 100 * TOLERANCE, "local statistics: %s should be off Python's whole batch, relative error %.3g"
                % (key, err))


def main():
    args = sgtest.parse_args(__doc__.splitlines()[0], need_inspect=False, paths=("probe",))
    sgtest.fresh_dir(args.workdir)
    c = sgtest.Checker("test_sync_batch_norm")
    data_path = os.path.join(args.workdir, "data.pth")
    write_data(data_path)
    want_state, want_losses = reference(torch.load(data_path))
    check_synchronised(c, args, data_path, want_state, want_losses)
    check_local_control(c, args, data_path, want_state)
    c.report()


if __name__ == "__main__":
    main()
