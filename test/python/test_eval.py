"""sg-eval: a run's checkpoint, and a Python-written checkpoint through a recipe.

1. test_tiny trained 2 epochs (EMA on, and off): sg-eval of ckpt_best.pth reproduces the
   validation metrics stored in its `_best_ckpt_metrics['valid']` (Accuracy, Top5 exactly,
   the loss within 1e-6) -- EMA weights preferred; --no-ema evaluates `net`; --run-id,
   the default ckpt_latest.pth and average_model.pth work; the table output names them.
2. A torchvision resnet18 (1 input channel, random weights and BN statistics) saved by
   torch.save(state_dict) and evaluated through `--config-name test_tiny` on IDX files
   written here gives the accuracy, top-5 and loss of the same evaluation in Python.
3. Errors: unknown experiment, run, checkpoint name; a checkpoint that does not fit the
   recipe's model; a recipe without a checkpoint -> exit 2 and one line naming the thing.
"""

import gzip
import os
import struct
import sys

import sgtest

MEAN, STD = 0.2860, 0.3530   # fashion_mnist_dataset_params' transforms


def train(args, root, *overrides):
    r = sgtest.run([args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + root] + list(overrides), timeout=300)
    return r, (r.out.strip().splitlines()[-1] if r.rc == 0 and r.out.strip() else None)


def sg_eval(args, checker, what, *argv, expect_rc=0):
    return sgtest.run_json(checker, [args.eval] + list(argv) + ["--json"], what, expect_rc=expect_rc, timeout=300)


def check_matches_best(args, checker, torch, root, experiment, run_dir, ema):
    what = "%s (ema %s)" % (experiment, ema)
    ckpt = torch.load(os.path.join(run_dir, "ckpt_best.pth"), weights_only=False)
    expected = ckpt["_best_ckpt_metrics"]["valid"]
    checker.check(("ema_net" in ckpt) == ema, "%s: ema_net present: %s" % (what, "ema_net" in ckpt))
    doc, r = sg_eval(args, checker, what, "--experiment-name", experiment, "--ckpt-root-dir", root,
                     "--ckpt-name", "ckpt_best.pth")
    if doc is None:
        return
    checker.eq(doc["checkpoint"], os.path.join(run_dir, "ckpt_best.pth"), what + " checkpoint path")
    checker.eq(doc["epoch"], ckpt["epoch"], what + " epoch")
    checker.eq(doc["weights"], "ema_net" if ema else "net", what + " weights")
    checker.eq(doc["dataset"], "synthetic", what + " dataset")
    checker.eq(sorted(doc["metrics"]), sorted(expected), what + " metric names")
    for name in ("Accuracy", "Top5"):
        checker.eq(doc["metrics"].get(name), float(expected[name]), "%s %s" % (what, name))
    loss = doc["metrics"].get("CrossEntropyLoss")
    checker.check(loss is not None and abs(loss - float(expected["CrossEntropyLoss"])) <= 1e-6,
                  "%s loss %s vs stored %s" % (what, loss, expected["CrossEntropyLoss"]))

    # Explicit run id, the table output.
    r = sgtest.run([args.eval, "--experiment-name", experiment, "--ckpt-root-dir", root, "--ckpt-name",
                    "ckpt_best.pth", "--run-id", os.path.basename(run_dir)], timeout=300)
    if checker.check(r.rc == 0, what + " table: " + r.describe()):
        for needle in ("ckpt_best.pth", "Accuracy", "Top5", "CrossEntropyLoss", "%.6f" % expected["Accuracy"]):
            checker.check(needle in r.out, "%s table lacks %r: %s" % (what, needle, r.out))

    # Default checkpoint: ckpt_latest.pth, the last epoch.
    doc, _ = sg_eval(args, checker, what + " latest", "--experiment-name", experiment, "--ckpt-root-dir", root)
    if doc:
        checker.eq(os.path.basename(doc["checkpoint"]), "ckpt_latest.pth", what + " default checkpoint")
        checker.eq(doc["epoch"], 2, what + " latest epoch")
        latest = torch.load(os.path.join(run_dir, "ckpt_latest.pth"), weights_only=False)
        checker.eq(doc["metrics"]["Accuracy"], float(latest["metrics"]["valid"]["Accuracy"]), what + " latest Accuracy")

    # average_model.pth (net only), and --no-ema.
    doc, _ = sg_eval(args, checker, what + " average", "--experiment-name", experiment, "--ckpt-root-dir", root,
                     "--ckpt-name", "average_model.pth")
    if doc:
        checker.eq(doc["weights"], "net", what + " average weights")
        # The trainer validated the averaged model at the end and logged it (4 decimals).
        logs = [open(os.path.join(run_dir, n)).read() for n in os.listdir(run_dir) if n.startswith("log_")]
        line = [l for text in logs for l in text.splitlines() if "best models, valid:" in l]
        if checker.check(line, what + ": no 'average of the best models' line in the run's log"):
            logged = dict(part.strip().rsplit(" ", 1) for part in line[-1].split("valid:", 1)[1].split(","))
            for name, value in logged.items():
                checker.check(abs(doc["metrics"].get(name, float("nan")) - float(value)) <= 5.01e-5,
                              "%s average %s %s vs logged %s" % (what, name, doc["metrics"].get(name), value))
    doc, _ = sg_eval(args, checker, what + " --no-ema", "--experiment-name", experiment, "--ckpt-root-dir", root,
                     "--ckpt-name", "ckpt_best.pth", "--no-ema", "--max-batches", "1")
    if doc:
        checker.eq(doc["weights"], "net", what + " --no-ema weights")
        checker.eq(doc["batches"], 1, what + " --max-batches")
        # The same run chosen by sg-train's override words instead of the flags.
        as_overrides, _ = sg_eval(args, checker, what + " as overrides", "experiment_name=" + experiment,
                                  "ckpt_root_dir=" + root, "--ckpt-name", "ckpt_best.pth", "--no-ema", "--max-batches", "1")
        if as_overrides:
            checker.eq({k: v for k, v in as_overrides.items() if k != "seconds"},
                       {k: v for k, v in doc.items() if k != "seconds"}, what + ": overrides vs flags")


def write_idx(folder, prefix, images, labels):
    n, h, w = images.shape
    with gzip.open(os.path.join(folder, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, h, w) + bytes(images.flatten().tolist()))
    with gzip.open(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels.tolist()))


def python_model(torch, torchvision):
    torch.manual_seed(7)
    model = torchvision.models.resnet18(num_classes=10)
    # What our torchvision_resnet18 builds for arch_params.in_channels=1.
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model.eval()


def python_eval(torch, model, images, labels):
    x = (images.to(torch.float32).unsqueeze(1) / 255.0 - MEAN) / STD   # the loader's (v/255 - mean)/std in float32
    with torch.no_grad():
        logits = model(x)
    top5 = logits.topk(5, dim=1).indices
    return {
        "Accuracy": (logits.argmax(1) == labels).sum().item() / len(labels),
        "Top5": (top5 == labels.unsqueeze(1)).any(1).sum().item() / len(labels),
        "CrossEntropyLoss": torch.nn.functional.cross_entropy(logits, labels).item(),
    }


def check_python_checkpoint(args, checker, torch, torchvision):
    folder = sgtest.fresh_dir(os.path.join(args.workdir, "idx"))
    model = python_model(torch, torchvision)
    ckpt = os.path.join(args.workdir, "resnet18_gray.pth")
    torch.save(model.state_dict(), ckpt)

    g = torch.Generator().manual_seed(3)
    train_images = torch.randint(0, 256, (64, 28, 28), generator=g, dtype=torch.uint8)
    train_labels = torch.randint(0, 10, (64,), generator=g)
    images = torch.randint(0, 256, (100, 28, 28), generator=g, dtype=torch.uint8)
    # Half the labels are the model's own predictions, so the accuracy is not trivial.
    with torch.no_grad():
        predicted = model(((images.to(torch.float32).unsqueeze(1) / 255.0 - MEAN) / STD)).argmax(1)
    labels = torch.randint(0, 10, (100,), generator=g)
    labels[::2] = predicted[::2]
    write_idx(folder, "train", train_images, train_labels)
    write_idx(folder, "t10k", images, labels)

    recipe = ["--config-name", "test_tiny", "architecture=torchvision_resnet18", "arch_params.in_channels=1",
              "dataset_params=fashion_mnist_dataset_params", "dataset_params.root=" + folder,
              "checkpoint_params.checkpoint_path=" + ckpt]
    # test_tiny's max_valid_batches is 2: the default stops there, --max-batches all does not.
    cases = [("all 100 images", ["training_hyperparams.max_valid_batches=null", "--batch-size", "25"], 100, 4),
             ("--max-batches all over the recipe's limit", ["--max-batches", "all", "--batch-size", "25"], 100, 4),
             ("the recipe's limit", ["--batch-size", "25"], 50, 2),
             ("--max-batches 2 --batch-size 16", ["--max-batches", "2", "--batch-size", "16"], 32, 2)]
    for what, extra, n, batches in cases:
        expected = python_eval(torch, model, images[:n], labels[:n])
        doc, _ = sg_eval(args, checker, "python resnet18, " + what, *(recipe + extra))
        if doc is None:
            continue
        checker.eq(doc["samples"], n, what + " samples")
        checker.eq(doc["batches"], batches, what + " batches")
        checker.eq(doc["weights"], "state_dict", what + " weights")
        checker.eq(doc["epoch"], None, what + " epoch")
        checker.eq(doc["dataset"], "fashion_mnist", what + " dataset")
        checker.eq(doc["metrics"]["Accuracy"], expected["Accuracy"], what + " Accuracy vs Python")
        checker.eq(doc["metrics"]["Top5"], expected["Top5"], what + " Top5 vs Python")
        loss = doc["metrics"]["CrossEntropyLoss"]
        checker.check(abs(loss - expected["CrossEntropyLoss"]) <= 1e-4 * max(1.0, abs(expected["CrossEntropyLoss"])),
                      "%s loss %r vs Python %r" % (what, loss, expected["CrossEntropyLoss"]))
        checker.check(0.4 <= expected["Accuracy"] < 1.0, "%s: Python accuracy %r not informative" % (what, expected["Accuracy"]))
    return ckpt


def check_errors(args, checker, root, run_dir, python_ckpt):
    base = [args.eval, "--ckpt-root-dir", root]
    cases = [
        ("unknown experiment", base + ["--experiment-name", "no_such_experiment"], "no_such_experiment"),
        ("unknown run", base + ["--experiment-name", "test_tiny", "--run-id", "RUN_19990101_000000_000000"],
         "RUN_19990101_000000_000000"),
        ("missing checkpoint", base + ["--experiment-name", "test_tiny", "--ckpt-name", "ckpt_epoch_7.pth"],
         "ckpt_epoch_7.pth"),
        ("missing checkpoint in a given run",
         base + ["--experiment-name", "test_tiny", "--run-id", os.path.basename(run_dir), "--ckpt-name", "nope.pth"],
         "nope.pth"),
        ("run checkpoint vs another architecture",
         base + ["--experiment-name", "test_tiny", "--ckpt-name", "ckpt_best.pth", "architecture=torchvision_resnet18"],
         "does not fit"),
        ("Python resnet18 vs the recipe's resnet_mini",
         [args.eval, "--config-name", "test_tiny", "checkpoint_params.checkpoint_path=" + python_ckpt], "does not fit"),
        ("recipe without a checkpoint", [args.eval, "--config-name", "test_tiny"], "checkpoint_path"),
        ("--max-batches neither N nor all", base + ["--experiment-name", "test_tiny", "--max-batches", "some"],
         "--max-batches"),
        ("a flag and an override that disagree", base + ["--experiment-name", "test_tiny", "experiment_name=other"],
         "experiment_name"),
        ("recipe with a missing checkpoint file",
         [args.eval, "--config-name", "test_tiny", "checkpoint_params.checkpoint_path=/nonexistent/x.pth"],
         "/nonexistent/x.pth"),
    ]
    for what, cmd, needle in cases:
        r = sgtest.run(cmd + ["--json"], timeout=120)
        lines = r.err.strip().splitlines()
        checker.check(r.rc == 2, "%s: expected exit 2: %s" % (what, r.describe()))
        checker.check(len(lines) == 1 and lines[0].startswith("sg-eval: error: ") and needle in lines[0],
                      "%s: expected one 'sg-eval: error:' line naming %r, got %r" % (what, needle, r.err))
        checker.check(r.out == "", "%s: printed on stdout: %r" % (what, r.out))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "eval"))
    torch = sgtest.import_torch()
    import torchvision
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_eval")
    root = os.path.join(args.workdir, "runs")
    r, ema_run = train(args, root, "ema=True")
    if checker.check(ema_run, "ema training failed: %s" % r.describe()):
        check_matches_best(args, checker, torch, root, "test_tiny", ema_run, ema=True)
    r, plain_run = train(args, root, "experiment_name=plain", "ema=False")
    if checker.check(plain_run, "training failed: %s" % r.describe()):
        check_matches_best(args, checker, torch, root, "plain", plain_run, ema=False)
    python_ckpt = check_python_checkpoint(args, checker, torch, torchvision)
    if ema_run:
        check_errors(args, checker, root, ema_run, python_ckpt)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
