"""sg-train end to end: the run directory SG would leave, read back by real PyTorch.

Trains the tests' tiny recipe (synthetic data) with torchvision's resnet18 architecture,
then checks the files present, every checkpoint key, that `net` loads strictly into
torchvision's model with the same outputs, that `optimizer_state_dict` loads into
torch.optim.SGD/AdamW with equal state, the stored recipe, the TensorBoard events, and
that recipe mistakes are one-line errors that create nothing.
"""

import glob
import os
import struct
import sys

import sgtest


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def proto_fields(buf):
    """(field, wire type, value) of a protobuf message, enough for Event and Summary."""
    i, out = 0, []
    while i < len(buf):
        key, i = read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((field, wire, value))
    return out


def tensorboard_scalars(path, checker):
    """{tag: {step: value}} from an events file, checking TFRecord framing and CRCs."""
    data = open(path, "rb").read()
    scalars, i, version = {}, 0, None
    while i < len(data):
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (crc_len,) = struct.unpack("<I", data[i + 8:i + 12])
        checker.check(crc_len == masked(crc32c(header)), "events: bad length CRC at %d" % i)
        event = data[i + 12:i + 12 + length]
        (crc_data,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        checker.check(crc_data == masked(crc32c(event)), "events: bad data CRC at %d" % i)
        i += 16 + length
        step = 0
        for field, _, value in proto_fields(event):
            if field == 2:
                step = value
            elif field == 3:
                version = value
            elif field == 5:
                for f, _, v in proto_fields(value):
                    if f != 1:
                        continue
                    parts = {ff: vv for ff, _, vv in proto_fields(v)}
                    scalars.setdefault(parts[1].decode(), {})[step] = struct.unpack("<f", parts[2])[0]
    checker.check(version == b"brain.Event:2", "events: first event has file_version %r" % version)
    return scalars


def train(args, workdir, experiment, *overrides):
    cmd = [args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + workdir, "experiment_name=" + experiment,
           "architecture=torchvision_resnet18"] + list(overrides)
    return sgtest.run(cmd, timeout=300)


def check_run(args, checker, torch, torchvision, optimizer):
    workdir = os.path.join(args.workdir, optimizer)
    os.makedirs(workdir)
    r = train(args, workdir, "exp", "training_hyperparams.max_epochs=3", "training_hyperparams.save_ckpt_epoch_list=[2]",
              "training_hyperparams.optimizer=" + optimizer)
    if not checker.check(r.rc == 0, "%s: sg-train failed: %s" % (optimizer, r.describe())):
        return
    run_dir = r.out.strip().splitlines()[-1]
    checker.check(os.path.dirname(run_dir) == os.path.join(workdir, "exp"), "run dir %s not under the experiment" % run_dir)
    checker.check(os.path.basename(run_dir).startswith("RUN_") and len(os.path.basename(run_dir)) == len("RUN_20230802_131052_651906"),
                  "run id %s is not RUN_%%Y%%m%%d_%%H%%M%%S_%%f" % run_dir)
    names = sorted(os.listdir(run_dir))
    for expected in ["ckpt_latest.pth", "ckpt_best.pth", "ckpt_epoch_2.pth", ".hydra"]:
        checker.check(expected in names, "%s: %s missing from run dir (%s)" % (optimizer, expected, names))
    checker.check(not any(n.startswith("ckpt_epoch_") and n != "ckpt_epoch_2.pth" for n in names),
                  "unexpected epoch checkpoints: %s" % names)
    checker.check(len(glob.glob(os.path.join(run_dir, "log_*.txt"))) == 1, "no log_<timestamp>.txt: %s" % names)
    checker.check(not any(".tmp" in n for n in names), "temp files left: %s" % names)
    config = open(os.path.join(run_dir, ".hydra", "config.yaml")).read()
    checker.check("max_epochs: 3" in config and "architecture: torchvision_resnet18" in config, "config.yaml lacks the overrides")
    overrides = open(os.path.join(run_dir, ".hydra", "overrides.yaml")).read()
    checker.check("training_hyperparams.max_epochs=3" in overrides, "overrides.yaml: %s" % overrides)

    ckpts = {n: torch.load(os.path.join(run_dir, n), weights_only=False)
             for n in ["ckpt_latest.pth", "ckpt_best.pth", "ckpt_epoch_2.pth"]}
    # SG's keys, plus our exact-continuation state under a key SG and PyTorch ignore.
    keys = {"net", "acc", "epoch", "metrics", "packages", "_best_ckpt_metrics", "optimizer_state_dict",
            "scaler_state_dict", "sg_cpp_state"}
    for name, c in ckpts.items():
        checker.check(set(c.keys()) == keys, "%s keys %s" % (name, sorted(c.keys())))
        checker.check(type(c["acc"]) is float and type(c["epoch"]) is int, "%s acc/epoch types" % name)
        m = c["metrics"]
        checker.check(m["tracked_metric_name"] == "Accuracy", "%s tracked metric %r" % (name, m))
        checker.check(c["acc"] == m["valid"]["Accuracy"], "%s acc != metrics.valid.Accuracy" % name)
        checker.check(set(m["valid"]) == {"Accuracy", "Top5", "CrossEntropyLoss"}, "%s valid metrics %s" % (name, m))
        checker.check(c["scaler_state_dict"] == {}, "%s scaler_state_dict %r" % (name, c["scaler_state_dict"]))
        checker.check(type(c["net"]).__name__ == "OrderedDict", "%s net is %s" % (name, type(c["net"])))
    checker.check(ckpts["ckpt_latest.pth"]["epoch"] == 3 and ckpts["ckpt_epoch_2.pth"]["epoch"] == 2, "epoch numbers")
    best = ckpts["ckpt_best.pth"]
    checker.check(ckpts["ckpt_latest.pth"]["_best_ckpt_metrics"] == best["metrics"],
                  "latest's _best_ckpt_metrics is not the best checkpoint's metrics")
    checker.check(best["_best_ckpt_metrics"] == best["metrics"], "best's _best_ckpt_metrics differs from its metrics")
    seen = [ckpts["ckpt_epoch_2.pth"]["acc"], ckpts["ckpt_latest.pth"]["acc"]]
    checker.check(best["acc"] >= max(seen) if best["epoch"] != 3 else best["acc"] == seen[1],
                  "best acc %s vs epochs %s" % (best["acc"], seen))

    latest = ckpts["ckpt_latest.pth"]
    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(latest["net"], strict=True)
    checker.check(list(latest["net"].keys()) == list(model.state_dict().keys()), "net key order differs from torchvision")
    params = list(model.parameters())
    if optimizer == "SGD":
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
    else:
        opt = torch.optim.AdamW(params, lr=0.05, weight_decay=1e-4)
    opt.load_state_dict(latest["optimizer_state_dict"])
    saved_state = latest["optimizer_state_dict"]["state"]
    checker.check(len(saved_state) == len(params), "%s: state for %d of %d params" % (optimizer, len(saved_state), len(params)))
    for i, p in enumerate(params):
        for k, v in saved_state.get(i, {}).items():
            mine = opt.state[p][k]
            checker.check(torch.equal(mine, v) and mine.shape == (v.shape if k != "step" else mine.shape),
                          "%s state %d %s differs after load_state_dict" % (optimizer, i, k))
        if optimizer == "SGD":
            checker.check(saved_state[i]["momentum_buffer"].shape == p.shape, "momentum buffer %d shape" % i)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()  # the loaded state must be usable

    scalars = tensorboard_scalars(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))[0], checker)
    # SG's tags at SG's step: the 0-based epoch (test_run_logging checks the per-step ones).
    for tag in ["Train_CrossEntropyLoss", "Train_Accuracy", "Valid_Accuracy", "Valid_CrossEntropyLoss", "LR"]:
        checker.check(sorted(scalars.get(tag, {})) == [0, 1, 2], "events: %s steps %s" % (tag, scalars.get(tag)))
    if "Valid_Accuracy" in scalars:
        checker.check(abs(scalars["Valid_Accuracy"][2] - latest["acc"]) < 1e-6, "events Valid_Accuracy != acc")


def check_errors(args, checker):
    workdir = os.path.join(args.workdir, "errors")
    os.makedirs(workdir)
    cases = [
        (["training_hyperparams.max_epoch=3"], "max_epoch"),
        (["training_hyperparams.max_epochs=abc"], "max_epochs"),
        (["architecture=resnet1000"], "resnet1000"),
        (["dataset_params=fashion_mnist_dataset_params", "dataset_params.root=/nonexistent"], "/nonexistent"),
        (["training_hyperparams.optimizer=Adagrad"], "Adagrad"),
    ]
    for overrides, named in cases:
        r = train(args, workdir, "bad", *overrides)
        lines = r.err.strip().splitlines()
        checker.check(r.rc == 2, "%s: expected exit 2: %s" % (overrides, r.describe()))
        checker.check(len(lines) == 1 and lines[0].startswith("sg-train: error: ") and named in lines[0],
                      "%s: stderr should be one line naming %s: %r" % (overrides, named, r.err))
        checker.check(r.out == "", "%s: printed on stdout: %r" % (overrides, r.out))
    checker.check(os.listdir(workdir) == [], "failed runs created %s" % os.listdir(workdir))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train",))
    torch = sgtest.import_torch()
    import torchvision
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_train_run")
    for optimizer in ["SGD", "AdamW"]:
        check_run(args, checker, torch, torchvision, optimizer)
    check_errors(args, checker)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
