"""Fine-tuning from a Python checkpoint through checkpoint_params, and sg-ckpt-adapt --model.

(a) A torchvision resnet18 for 1000 classes saved by torch.save(state_dict) is fine-tuned by
    sg-train for 10 classes with checkpoint_params.checkpoint_num_classes=1000 and a zero
    learning rate: the run's ckpt_latest `net` has a 10-class fc and every backbone weight
    equal to the Python file's (BatchNorm running statistics aside, which training updates).
(b) Without checkpoint_num_classes the same run fails with exit 2 and a one-line message
    naming fc.weight with both shapes.
(c) sg-model-template writes torchvision's keys and shapes; sg-ckpt-adapt --model resnet18
    renames a checkpoint to them (loads strictly into torchvision with equal tensors), and
    refuses a 1000-class checkpoint for --num-classes 10 naming fc.weight.
"""

import json
import os
import sys

import sgtest


def is_running_stat(name):
    return name.endswith(("running_mean", "running_var", "num_batches_tracked"))


def train(args, workdir, experiment, *overrides):
    cmd = [args.train, "--config-name", "test_tiny", "ckpt_root_dir=" + workdir, "experiment_name=" + experiment,
           "architecture=torchvision_resnet18", "arch_params.num_classes=10", "epochs=1"] + list(overrides)
    return sgtest.run(cmd, timeout=300)


def check_finetune(args, checker, torch, torchvision, src, source):
    workdir = os.path.join(args.workdir, "runs")
    os.makedirs(workdir, exist_ok=True)
    r = train(args, workdir, "finetune", "checkpoint_params.checkpoint_path=" + src,
              "checkpoint_params.checkpoint_num_classes=1000", "training_hyperparams.initial_lr=0.0")
    if not checker.check(r.rc == 0, "(a) fine-tuning: %s" % r.describe()):
        return
    run_dir = r.out.strip().splitlines()[-1]
    ckpt = torch.load(os.path.join(run_dir, "ckpt_latest.pth"), map_location="cpu")
    net = ckpt["net"]
    checker.eq(list(net["fc.weight"].shape), [10, 512], "(a) fc.weight shape")
    checker.eq(list(net["fc.bias"].shape), [10], "(a) fc.bias shape")
    checker.check(not torch.equal(net["fc.weight"], source["fc.weight"][:10]), "(a) fc.weight is the checkpoint's, not fresh")
    checker.check(torch.equal(net["conv1.weight"], source["conv1.weight"]), "(a) conv1.weight differs from the Python file's")
    checker.eq(sorted(net.keys()), sorted(source.keys()), "(a) keys")
    for name, t in source.items():
        if name.startswith("fc.") or is_running_stat(name) or name not in net:
            continue
        checker.check(net[name].shape == t.shape and torch.equal(net[name], t), "(a) %s differs from the Python file's" % name)
    # The fine-tuned net loads strictly into torchvision's 10-class resnet18.
    model = torchvision.models.resnet18(num_classes=10)
    try:
        model.load_state_dict(net, strict=True)
    except Exception as e:
        checker.fail("(a) net does not load into torchvision resnet18(num_classes=10): %s" % e)

    # (b) the same without checkpoint_num_classes: a one-line report of the head's shapes.
    r = train(args, workdir, "no_num_classes", "checkpoint_params.checkpoint_path=" + src,
              "training_hyperparams.initial_lr=0.0")
    checker.check(r.rc == 2, "(b) expected exit 2: %s" % r.describe())
    err = r.err.strip()
    checker.check(len(err.splitlines()) == 1, "(b) message is not one line: %r" % err)
    for part in ["fc.weight", "[10, 512]", "[1000, 512]", src]:
        checker.check(part in err, "(b) message lacks %r: %r" % (part, err))

    # strict_load=on with a renamed key: the report names the missing and unexpected keys.
    renamed = dict(source)
    renamed["stem.weight"] = renamed.pop("conv1.weight")
    bad = os.path.join(args.workdir, "renamed.pth")
    torch.save({"net": renamed}, bad)
    r = train(args, workdir, "renamed", "checkpoint_params.checkpoint_path=" + bad, "checkpoint_params.strict_load=on",
              "checkpoint_params.checkpoint_num_classes=1000")
    checker.check(r.rc == 2, "strict_load=on with a renamed key: expected exit 2: %s" % r.describe())
    for part in ["missing: conv1.weight", "unexpected: stem.weight"]:
        checker.check(part in r.err, "strict_load=on: message lacks %r: %r" % (part, r.err.strip()))


def check_variants(args, checker, torch, src, source):
    """SG checkpoints (EMA preferred, DDP prefix), load_backbone, and the model zoo."""
    workdir = os.path.join(args.workdir, "runs")
    os.makedirs(workdir, exist_ok=True)

    def net_of(r, what):
        if not checker.check(r.rc == 0, "%s: %s" % (what, r.describe())):
            return None
        return torch.load(os.path.join(r.out.strip().splitlines()[-1], "ckpt_latest.pth"), map_location="cpu")["net"]

    # ema_net is loaded rather than net; the "module." prefix of DDP is stripped.
    ema = {k: (v + 1 if v.is_floating_point() else v) for k, v in source.items()}
    sg_file = os.path.join(args.workdir, "sg_ddp_ema.pth")
    torch.save({"net": {"module." + k: v for k, v in source.items()},
                "ema_net": {"module." + k: v for k, v in ema.items()}, "epoch": 7}, sg_file)
    net = net_of(train(args, workdir, "ema", "checkpoint_params.checkpoint_path=" + sg_file,
                       "checkpoint_params.checkpoint_num_classes=1000", "checkpoint_params.strict_load=on",
                       "training_hyperparams.initial_lr=0.0"), "ema_net with module. prefix")
    if net is not None:
        checker.check(torch.equal(net["conv1.weight"], ema["conv1.weight"]), "ema_net: conv1.weight is not the EMA's")

    # load_backbone: the 1000-class head is left out, no checkpoint_num_classes needed.
    net = net_of(train(args, workdir, "backbone", "checkpoint_params.checkpoint_path=" + src,
                       "checkpoint_params.load_backbone=True", "checkpoint_params.strict_load=on",
                       "training_hyperparams.initial_lr=0.0"), "load_backbone")
    if net is not None:
        checker.check(torch.equal(net["conv1.weight"], source["conv1.weight"]), "load_backbone: conv1.weight differs")
        checker.eq(list(net["fc.weight"].shape), [10, 512], "load_backbone: fc.weight shape")

    # pretrained_weights=imagenet from a local zoo with a SHA-256 manifest.
    import hashlib
    import shutil
    zoo = sgtest.fresh_dir(os.path.join(args.workdir, "zoo"))
    shutil.copy(src, os.path.join(zoo, "torchvision_resnet18_imagenet.pth"))
    with open(src, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(zoo, "manifest.json"), "w") as f:
        json.dump({"torchvision_resnet18_imagenet.pth": digest}, f)
    # --zoo names the folder; SG_MODEL_ZOO does the same below.
    r = sgtest.run([args.train, "--zoo", zoo, "--config-name", "test_tiny", "ckpt_root_dir=" + workdir,
                    "experiment_name=zoo", "architecture=torchvision_resnet18", "arch_params.num_classes=10", "epochs=1",
                    "checkpoint_params.pretrained_weights=imagenet", "training_hyperparams.initial_lr=0.0"], timeout=300)
    net = net_of(r, "pretrained_weights=imagenet")
    if net is not None:
        checker.check(torch.equal(net["conv1.weight"], source["conv1.weight"]), "pretrained: conv1.weight differs")
        checker.eq(list(net["fc.weight"].shape), [10, 512], "pretrained: fc.weight shape")
    # sg-eval evaluates pretrained weights from the zoo the same way.
    r = sgtest.run([args.eval, "--zoo", zoo, "--config-name", "test_tiny", "architecture=torchvision_resnet18",
                    "checkpoint_params.pretrained_weights=imagenet", "--json"], timeout=300)
    checker.check(r.rc == 0 and json.loads(r.out or "{}").get("weights") == "pretrained imagenet",
                  "sg-eval with pretrained weights: %s" % r.describe())
    os.environ["SG_MODEL_ZOO"] = zoo
    try:
        with open(os.path.join(zoo, "manifest.json"), "w") as f:
            json.dump({"torchvision_resnet18_imagenet.pth": "0" * 64}, f)
        r = train(args, workdir, "zoo_bad", "checkpoint_params.pretrained_weights=imagenet")
        checker.check(r.rc == 2 and "SHA-256" in r.err, "pretrained with a wrong manifest sum: %s" % r.describe())
        os.remove(os.path.join(zoo, "manifest.json"))
        r = train(args, workdir, "zoo_none", "checkpoint_params.pretrained_weights=imagenet")
        checker.check(r.rc == 2 and "manifest" in r.err, "pretrained without a manifest: %s" % r.describe())
    finally:
        del os.environ["SG_MODEL_ZOO"]


def check_adapt(args, checker, torch, torchvision, src):
    # sg-model-template: torchvision's keys, order and shapes.
    tmpl = os.path.join(args.workdir, "template.pth")
    r = sgtest.run([args.template, "torchvision_resnet18", "10", tmpl])
    if checker.check(r.rc == 0, "sg-model-template: %s" % r.describe()):
        sd = torch.load(tmpl, map_location="cpu")
        ref = torchvision.models.resnet18(num_classes=10).state_dict()
        checker.eq(list(sd.keys()), list(ref.keys()), "sg-model-template keys")
        checker.eq([list(t.shape) for t in sd.values()], [list(t.shape) for t in ref.values()], "sg-model-template shapes")
    r = sgtest.run([args.template, "no_such_arch", "10", tmpl + ".x"])
    checker.check(r.rc == 2 and "no_such_arch" in r.err, "sg-model-template unknown arch: %s" % r.describe())

    # A 10-class checkpoint under other names: renamed by position to resnet18's keys.
    torch.manual_seed(1)
    ten = torchvision.models.resnet18(num_classes=10).state_dict()
    other = {"model." + k: v for k, v in ten.items()}
    src10 = os.path.join(args.workdir, "other_names.pth")
    torch.save(other, src10)
    out = os.path.join(args.workdir, "adapted.pth")
    r = sgtest.run([args.adapt, src10, "-o", out, "--model", "torchvision_resnet18", "--num-classes", "10"], timeout=300)
    if checker.check(r.rc == 0, "(c) sg-ckpt-adapt --model resnet18: %s" % r.describe()):
        sd = torch.load(out, map_location="cpu")
        if isinstance(sd, dict) and "net" in sd:
            sd = sd["net"]
        model = torchvision.models.resnet18(num_classes=10)
        try:
            model.load_state_dict(sd, strict=True)
            for k, v in ten.items():
                checker.check(torch.equal(model.state_dict()[k], v), "(c) adapted %s differs" % k)
        except Exception as e:
            checker.fail("(c) adapted file does not load strictly into torchvision: %s" % e)
    # The 1000-class file for 10 classes: refused, naming fc.weight.
    out2 = os.path.join(args.workdir, "adapted_1000.pth")
    r = sgtest.run([args.adapt, src, "-o", out2, "--model", "torchvision_resnet18", "--num-classes", "10"], timeout=300)
    checker.check(r.rc == 1 and "fc.weight" in r.out + r.err, "(c) 1000 -> 10 classes: expected exit 1 naming fc.weight: %s" % r.describe())
    checker.check(not os.path.exists(out2), "(c) refused adaptation left %s" % out2)
    r = sgtest.run([args.adapt, src, "-o", out2, "--model", "torchvision_resnet18", "--num-classes", "1000"], timeout=300)
    checker.check(r.rc == 0, "(c) --num-classes 1000: %s" % r.describe())


def main():
    def extra(p):
        p.add_argument("--train", required=True)
        p.add_argument("--adapt", required=True)
        p.add_argument("--template", required=True)
        p.add_argument("--eval", required=True)
    args = sgtest.parse_args(__doc__, need_inspect=False, extra=extra)
    torch = sgtest.import_torch()
    import torchvision
    sgtest.fresh_dir(args.workdir)
    checker = sgtest.Checker("test_finetune")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    src = os.path.join(args.workdir, "resnet18_imagenet_like.pth")
    torch.save(model.state_dict(), src)
    source = model.state_dict()
    check_finetune(args, checker, torch, torchvision, src, source)
    check_variants(args, checker, torch, src, source)
    check_adapt(args, checker, torch, torchvision, src)
    checker.report()


if __name__ == "__main__":
    sys.exit(main())
