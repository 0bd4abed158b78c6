"""Checkpoints of other tools: timm, torchvision's reference scripts and Lightning.

torch.save writes, for a torchvision resnet18 (1 input channel, 10 classes), the layouts
those tools write: timm's CheckpointSaver {epoch, arch, state_dict, optimizer, version,
args (an argparse.Namespace), metric, state_dict_ema} as .pth.tar; torchvision's
references/classification/train.py {model, optimizer, lr_scheduler, epoch, args, model_ema
(an AveragedModel: n_averaged and module.*)}; Lightning {epoch, global_step,
pytorch-lightning_version, state_dict (model.*), optimizer_states, lr_schedulers,
callbacks, loops}. The plain and EMA weights differ.
1. sg-ckpt-adapt --weights-only writes exactly the model's tensors: the count reported is
   the count written, no optimizer entry, and the file loads into resnet18 strict=True
   with the chosen entry's values; --ema and --key take the other entry; --key nosuch is
   one error line naming the file and the key, exit 2; an SG checkpoint's
   argparse.Namespace survives a conversion as a Namespace.
2. sg-eval with checkpoint_params.checkpoint_path= each file reports the detected layout
   and key and gives Python's metrics for those weights; --key, --no-ema and
   checkpoint_params.checkpoint_key choose the other entry; --key nosuch: exit 2, one line.
3. sg-train with checkpoint_params.checkpoint_key=state_dict on the timm file starts from
   state_dict (not the EMA weights) and logs the weights it loaded.
"""

import argparse
import copy
import os
import sys

import sgtest
from test_eval import python_eval, write_idx

MODEL_KEYS = 122   # resnet18: 62 parameters, 60 BatchNorm buffers


def models(torch, torchvision):
    torch.manual_seed(11)
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)   # arch_params.in_channels=1
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    ema = copy.deepcopy(model)
    with torch.no_grad():
        for p in ema.parameters():
            p.mul_(0.9).add_(0.01)
    return model.eval(), ema.eval()


def trained_optimizer(torch, model):
    """An SGD with momentum buffers (what a resumable checkpoint carries), and a scheduler."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    model.train()
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    opt.step()
    opt.zero_grad()
    model.eval()
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=30)


def write_files(torch, folder, model, ema):
    opt, sched = trained_optimizer(torch, copy.deepcopy(model))
    args = argparse.Namespace(model="resnet18", lr=0.1, epochs=3)
    files = {}
    files["timm"] = os.path.join(folder, "timm_checkpoint-3.pth.tar")
    torch.save({"epoch": 3, "arch": "resnet18", "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                "version": 2, "args": args, "metric": 41.5, "state_dict_ema": ema.state_dict()}, files["timm"])

    averaged = torch.optim.swa_utils.AveragedModel(model)   # what torchvision's ExponentialMovingAverage is
    averaged.module.load_state_dict(ema.state_dict())
    files["torchvision-references"] = os.path.join(folder, "model_3.pth")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(),
                "epoch": 3, "args": args, "model_ema": averaged.state_dict()}, files["torchvision-references"])

    class LitModule(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.model = net

    files["lightning"] = os.path.join(folder, "epoch=3-step=40.ckpt")
    torch.save({"epoch": 3, "global_step": 40, "pytorch-lightning_version": "2.1.0",
                "state_dict": LitModule(model).state_dict(), "loops": {"fit_loop": {"state_dict": {}}},
                "callbacks": {"ModelCheckpoint{'monitor': None}": {"best_model_score": torch.tensor(0.5),
                                                                 "best_model_path": "x.ckpt"}},
                "optimizer_states": [opt.state_dict()], "lr_schedulers": [sched.state_dict()]}, files["lightning"])
    return files


def same_tensors(torch, a, b):
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def one_error_line(checker, r, tool, what, *needles):
    lines = r.err.strip().splitlines()
    checker.check(r.rc == 2, "%s: expected exit 2: %s" % (what, r.describe()))
    checker.check(len(lines) == 1 and lines[0].startswith(tool + ": error: ") and all(n in lines[0] for n in needles),
                  "%s: expected one '%s: error:' line naming %r, got %r" % (what, tool, needles, r.err))


def check_adapt(args, checker, torch, torchvision, files, model, ema):
    expected = {"timm": ("state_dict", "state_dict_ema", ""),
                "torchvision-references": ("model", "model_ema", "module."),
                "lightning": ("state_dict", None, "model.")}
    for layout, path in files.items():
        plain_key, ema_key, ema_prefix = expected[layout]
        cases = [("default", [], plain_key, model, "model." if layout == "lightning" else "")]
        if ema_key:
            cases += [("--ema", ["--ema"], ema_key, ema, ema_prefix), ("--key", ["--key", ema_key], ema_key, ema, ema_prefix)]
        for what, flags, key, source, prefix in cases:
            out = os.path.join(args.workdir, "%s_%s.pth" % (layout, what.strip("-")))
            what = "%s %s --weights-only" % (layout, what)
            doc, _ = sgtest.run_json(checker, [args.adapt, path, "--weights-only", "-o", out, "--json"] + flags, what)
            if doc is None:
                continue
            checker.eq(doc["weights"], {"key": key, "layout": layout, "ema": source is ema, "prefix": prefix}, what + " weights")
            written = torch.load(out)
            checker.eq(doc["tensors"], len(written), what + ": tensors reported vs written")
            checker.eq(len(written), MODEL_KEYS, what + ": the model's tensors only")
            checker.check(all(isinstance(v, torch.Tensor) for v in written.values()), what + ": only tensors written")
            target = torchvision.models.resnet18(num_classes=10)
            target.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            try:
                target.load_state_dict(written, strict=True)
            except RuntimeError as e:
                checker.fail("%s: load_state_dict(strict=True): %s" % (what, str(e).splitlines()[0]))
            checker.check(same_tensors(torch, written, source.state_dict()), what + ": the chosen entry's tensors")
        out = os.path.join(args.workdir, layout + "_nosuch.pth")
        r = sgtest.run([args.adapt, path, "--key", "nosuch", "-o", out])
        one_error_line(checker, r, "sg-ckpt-adapt", layout + " --key nosuch", path, "'nosuch'", "top-level keys")
        checker.check(not os.path.exists(out), layout + " --key nosuch wrote " + out)

    # The detection line on stderr, and the note on what a layout's plain state dict leaves out.
    out = os.path.join(args.workdir, "timm_ema_note.pth")
    r = sgtest.run([args.adapt, files["timm"], "--key", "state_dict_ema", "-o", out])
    checker.check(r.rc == 0 and "sg-ckpt-adapt: weights: state_dict_ema (timm layout, EMA)" in r.err and
                  "left out: epoch, arch, state_dict, optimizer, version, args, metric" in r.err,
                  "timm --key state_dict_ema without --weights-only: %s" % r.describe())

    # An SG checkpoint carrying argparse.Namespace: converted, it is still a Namespace.
    sg_file = os.path.join(args.workdir, "sg_with_args.pth")
    torch.save({"net": model.state_dict(), "epoch": 3, "args": argparse.Namespace(model="resnet18", lr=0.1)}, sg_file)
    out = os.path.join(args.workdir, "sg_with_args_half.pth")
    r = sgtest.run([args.adapt, sg_file, "--dtype", "float16", "-o", out])
    if checker.check(r.rc == 0, "SG file with a Namespace --dtype float16: %s" % r.describe()):
        back = torch.load(out)
        checker.check(isinstance(back["args"], argparse.Namespace) and vars(back["args"]) == {"model": "resnet18", "lr": 0.1},
                      "args after conversion: %r" % (back["args"],))


def check_eval(args, checker, torch, files, model, ema, folder, images, labels):
    recipe = ["--config-name", "test_tiny", "architecture=torchvision_resnet18", "arch_params.in_channels=1",
              "dataset_params=fashion_mnist_dataset_params", "dataset_params.root=" + folder,
              "training_hyperparams.max_valid_batches=null", "--batch-size", "50"]
    want = {m: python_eval(torch, m, images, labels) for m in (model, ema)}
    checker.check(abs(want[model]["CrossEntropyLoss"] - want[ema]["CrossEntropyLoss"]) > 1e-3,
                  "the plain and EMA weights evaluate alike: the test cannot tell them apart")
    cases = [("timm", [], "state_dict_ema", ema), ("timm", ["--key", "state_dict"], "state_dict", model),
             ("torchvision-references", [], "model_ema", ema), ("torchvision-references", ["--no-ema"], "model", model),
             ("torchvision-references", ["checkpoint_params.checkpoint_key=model"], "model", model),
             ("lightning", [], "state_dict", model)]
    for layout, extra, key, source in cases:
        what = "sg-eval %s %s" % (layout, " ".join(extra) or "default")
        doc, _ = sgtest.run_json(checker, [args.eval] + recipe + ["checkpoint_params.checkpoint_path=" + files[layout]] +
                                 extra + ["--json"], what, timeout=300)
        if doc is None:
            continue
        checker.eq(doc["layout"], layout, what + " layout")
        checker.eq(doc["weights"], key, what + " weights")
        checker.eq(doc["epoch"], 3, what + " epoch")
        checker.eq(doc["metrics"]["Accuracy"], want[source]["Accuracy"], what + " Accuracy vs Python")
        loss = doc["metrics"]["CrossEntropyLoss"]
        checker.check(abs(loss - want[source]["CrossEntropyLoss"]) <= 1e-4 * max(1.0, abs(want[source]["CrossEntropyLoss"])),
                      "%s loss %r vs Python %r" % (what, loss, want[source]["CrossEntropyLoss"]))
    r = sgtest.run([args.eval] + recipe + ["checkpoint_params.checkpoint_path=" + files["lightning"]], timeout=300)
    checker.check(r.rc == 0 and "state_dict (lightning layout, prefix 'model.' removed), epoch 3" in r.out,
                  "sg-eval table names the weights: %s" % r.describe())
    r = sgtest.run([args.eval] + recipe + ["checkpoint_params.checkpoint_path=" + files["timm"], "--key", "nosuch", "--json"],
                   timeout=300)
    one_error_line(checker, r, "sg-eval", "sg-eval --key nosuch", files["timm"], "'nosuch'")
    checker.check(r.out == "", "sg-eval --key nosuch printed on stdout: %r" % r.out)


def check_train(args, checker, torch, files, model, folder):
    cmd = [args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + os.path.join(args.workdir, "runs"),
           "architecture=torchvision_resnet18", "arch_params.in_channels=1", "epochs=1",
           "dataset_params=fashion_mnist_dataset_params", "dataset_params.root=" + folder,
           "training_hyperparams.initial_lr=0.0", "checkpoint_params.strict_load=on",
           "checkpoint_params.checkpoint_path=" + files["timm"], "checkpoint_params.checkpoint_key=state_dict"]
    r = sgtest.run(cmd, timeout=300)
    if not checker.check(r.rc == 0 and r.out.strip(), "sg-train from the timm file: %s" % r.describe()):
        return
    checker.check("weights: state_dict (timm layout)" in r.err, "sg-train logs the weights it loaded: %r" % r.err[-2000:])
    net = torch.load(os.path.join(r.out.strip().splitlines()[-1], "ckpt_latest.pth"), weights_only=False)["net"]
    for name in ("conv1.weight", "fc.weight", "layer4.1.conv2.weight"):
        checker.check(torch.equal(net[name], model.state_dict()[name]), "sg-train from state_dict: %s differs" % name)


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("adapt", "eval", "train"))
    torch = sgtest.import_torch()
    import torchvision
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_foreign_checkpoints")
    model, ema = models(torch, torchvision)
    files = write_files(torch, args.workdir, model, ema)

    folder = sgtest.fresh_dir(os.path.join(args.workdir, "idx"))
    g = torch.Generator().manual_seed(5)
    write_idx(folder, "train", torch.randint(0, 256, (32, 28, 28), generator=g, dtype=torch.uint8),
              torch.randint(0, 10, (32,), generator=g))
    images = torch.randint(0, 256, (50, 28, 28), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (50,), generator=g)
    write_idx(folder, "t10k", images, labels)

    check_adapt(args, checker, torch, torchvision, files, model, ema)
    check_eval(args, checker, torch, files, model, ema, folder, images, labels)
    check_train(args, checker, torch, files, model, folder)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
