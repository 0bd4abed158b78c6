"""CIFAR-10 and CIFAR-100 as an SG user has them: torchvision's python version.

Folders are written here as torchvision's archives unpack (cifar-10-batches-py/data_batch_1..5,
test_batch; cifar-100-python/train, test: pickled dicts of a uint8 NumPy array (N, 3072) and
a list of labels), each batch with another pickle protocol (2, 3, 4, 5), and the binary
version (cifar-10-batches-bin, cifar-100-binary) of the same images, with the archives' class
name files (batches.meta, meta), which torchvision reads and we do not need. Then:
  - torchvision's CIFAR10 / CIFAR100 read the python folders (their md5 check switched off:
    the files are ours, not the published ones), and `sg_dataset_dump` gives the same
    pixels and labels (CIFAR-100: the fine labels) from both versions;
  - SG's cifar10_resnet recipe, unchanged but for the roots and a small model, trains on the
    CIFAR-10 folder; with SG's cifar100_dataset_params and cifar100_train/val on CIFAR-100;
  - with SG's cifar10_albumentations_dataset_params (SG's Albumentations wrapper), the loader's
    validation batches equal Albumentations' Normalize, (x - 255 mean) / (255 std), of
    torchvision's images, each training sample is one training image, flipped or not, once per
    epoch, and the recipe trains. Albumentations itself is not in Debian: its formulas are
    its documented ones, re-expressed in NumPy here;
  - a batch whose pickle would call os.system is refused with one line naming the file and
    the global, and nothing runs; so is a truncated batch.
The recipe parts are skipped (with a message) where SG's recipe folder is absent.
"""

import glob
import os
import pickle
import sys

import sgtest

PROTOCOLS = (2, 3, 4, 5)


class RunsCode:
    """A pickle that would create `marker` when loaded by Python's pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def make_images(np, n, seed):
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, size=(n, 3072)).astype(np.uint8)


def write_python_version(np, root, hundred, per_batch):
    """The python version; returns {split: (pixels, labels)} with CIFAR-100's fine labels."""
    folder = os.path.join(root, "cifar-100-python" if hundred else "cifar-10-batches-py")
    os.makedirs(folder)
    names = {"train": ["train"] if hundred else ["data_batch_%d" % i for i in range(1, 6)],
             "test": ["test"] if hundred else ["test_batch"]}
    classes = 100 if hundred else 10
    meta = {"fine_label_names" if hundred else "label_names": ["class_%d" % c for c in range(classes)]}
    if hundred:
        meta["coarse_label_names"] = ["super_%d" % c for c in range(20)]
    with open(os.path.join(folder, "meta" if hundred else "batches.meta"), "wb") as f:
        pickle.dump(meta, f, protocol=2)
    out = {}
    for split, files in names.items():
        pixels, labels = [], []
        for k, name in enumerate(files):
            data = make_images(np, per_batch, 1000 * hundred + 10 * (split == "test") + k)
            fine = [int(x) for x in np.random.RandomState(k + 7).randint(0, classes, size=per_batch)]
            batch = {"batch_label": "batch %d" % k, "data": data, "filenames": ["img_%d.png" % i for i in range(per_batch)]}
            if hundred:
                batch["fine_labels"] = fine
                batch["coarse_labels"] = [x // 5 for x in fine]
            else:
                batch["labels"] = fine
            with open(os.path.join(folder, name), "wb") as f:
                pickle.dump(batch, f, protocol=PROTOCOLS[k % len(PROTOCOLS)])
            pixels.append(data)
            labels += fine
        out[split] = (np.concatenate(pixels), labels)
    return out


def write_binary_version(np, root, hundred, expected):
    folder = os.path.join(root, "cifar-100-binary" if hundred else "cifar-10-batches-bin")
    os.makedirs(folder)
    for split, (pixels, labels) in expected.items():
        if hundred:
            parts = [("train.bin" if split == "train" else "test.bin", pixels, labels)]
        elif split == "train":
            per = len(labels) // 5
            parts = [("data_batch_%d.bin" % (i + 1), pixels[i * per:(i + 1) * per], labels[i * per:(i + 1) * per])
                     for i in range(5)]
        else:
            parts = [("test_batch.bin", pixels, labels)]
        for name, px, lb in parts:
            lab = np.array(lb, dtype=np.uint8).reshape(-1, 1)
            records = np.concatenate(([lab // 5, lab] if hundred else [lab]) + [px], axis=1)
            records.tofile(os.path.join(folder, name))


def dump(args, np, which, root, split, work):
    pixels, labels = os.path.join(work, "pixels.bin"), os.path.join(work, "labels.bin")
    r = sgtest.run([args.dump, which, root, split, pixels, labels])
    if r.rc != 0:
        return r, None, None
    return r, np.fromfile(pixels, dtype=np.uint8), np.fromfile(labels, dtype="<i8")


def torchvision_reads(torchvision, np, hundred, root, train):
    cls = torchvision.datasets.CIFAR100 if hundred else torchvision.datasets.CIFAR10
    # Our files, not the published archives: their md5 sums cannot match.
    torchvision.datasets.cifar.check_integrity = lambda *a, **k: True
    cls._check_integrity = lambda self: True
    ds = cls(root, train=train, download=False)
    # ds.data is (N, 32, 32, 3) HWC; ours is CHW per image.
    return np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)).reshape(-1), np.array(ds.targets, dtype=np.int64)


def check_dumps(checker, args, np, torchvision, work):
    for hundred in (False, True):
        which = "cifar100" if hundred else "cifar10"
        py_root = sgtest.fresh_dir(os.path.join(work, which + "_python"))
        bin_root = sgtest.fresh_dir(os.path.join(work, which + "_binary"))
        expected = write_python_version(np, py_root, hundred, 24)
        write_binary_version(np, bin_root, hundred, expected)
        for split in ("train", "test"):
            tv_pixels, tv_labels = torchvision_reads(torchvision, np, hundred, py_root, split == "train")
            checker.check(np.array_equal(tv_pixels, expected[split][0].reshape(-1)),
                          "%s %s: torchvision reads the pixels written" % (which, split))
            for version, root in (("python", py_root), ("binary", bin_root)):
                r, pixels, labels = dump(args, np, which, root, split, work)
                what = "%s %s (%s version)" % (which, split, version)
                if not checker.check(r.rc == 0, "%s: exit %s: %s" % (what, r.rc, r.err)):
                    continue
                n = len(expected[split][1])
                checker.eq(r.out.split(), [str(n), "3", "32", "32", "100" if hundred else "10"], what + ": shape")
                checker.check(np.array_equal(pixels, tv_pixels), what + ": pixels differ from torchvision's")
                checker.check(np.array_equal(labels, tv_labels), what + ": labels differ from torchvision's")
    return os.path.join(work, "cifar10_python"), os.path.join(work, "cifar100_python")


def check_hostile(checker, args, np, work):
    root = sgtest.fresh_dir(os.path.join(work, "hostile"))
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    marker = os.path.join(work, "code_ran")
    with open(os.path.join(folder, "test_batch"), "wb") as f:
        pickle.dump({"data": make_images(np, 2, 1), "labels": [RunsCode(marker), 1]}, f, protocol=2)
    r, _, _ = dump(args, np, "cifar10", root, "test", work)
    victim = os.path.join(folder, "test_batch")
    checker.check(r.rc == 1, "os.system batch: exit %s" % r.rc)
    lines = r.err.strip().splitlines()
    checker.check(len(lines) == 1 and victim in r.err and "refused global 'posix.system'" in r.err,
                  "os.system batch: one line naming the file and the global: %r" % r.err)
    checker.check(not os.path.exists(marker), "os.system batch: the code ran")

    with open(victim, "wb") as f:
        pickle.dump({"data": make_images(np, 4, 2), "labels": [1, 2, 3, 4]}, f, protocol=4)
    with open(victim, "r+b") as f:
        f.truncate(os.path.getsize(victim) - 900)
    r, _, _ = dump(args, np, "cifar10", root, "test", work)
    checker.check(r.rc == 1 and len(r.err.strip().splitlines()) == 1 and victim in r.err,
                  "truncated batch: one line naming the file: exit %s, %r" % (r.rc, r.err))


ALBUMENTATIONS_RECIPE = ["dataset_params=cifar10_albumentations_dataset_params"]
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)   # that file's Normalize


def loader_batches(args, torch, work, split, root, overrides):
    out = os.path.join(work, "loader_%s.pth" % split)
    r = sgtest.run([args.loader_dump, split, "0", "1000", out, args.sg_recipes, "cifar10_resnet"] + overrides +
                   ["dataset_params.train_dataset_params.root=" + root, "dataset_params.val_dataset_params.root=" + root,
                    "batch_size=40", "val_batch_size=24"])
    if r.rc != 0:
        return r, None, None
    d = torch.load(out)
    return r, torch.cat(d["images"]).numpy(), torch.cat(d["labels"]).numpy()


def check_albumentations(checker, args, np, torch, torchvision, work, cifar10_root):
    if not os.path.isfile(os.path.join(args.sg_recipes, "variable_setup.yaml")):
        print("SKIP (albumentations): SG's recipe folder %s is absent" % args.sg_recipes)
        return
    mean = np.array(CIFAR_MEAN, dtype=np.float32) * 255
    std = np.array(CIFAR_STD, dtype=np.float32) * 255

    def normalized(hwc):   # Albumentations' Normalize, then ToTensorV2's HWC -> CHW
        return ((hwc.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)

    for split, train in (("val", False), ("train", True)):
        tv_pixels, tv_labels = torchvision_reads(torchvision, np, False, cifar10_root, train)
        hwc = tv_pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        r, images, labels = loader_batches(args, torch, work, split, cifar10_root, ALBUMENTATIONS_RECIPE)
        if not checker.check(r.rc == 0, "albumentations %s loader: exit %s: %s" % (split, r.rc, r.err)):
            continue
        checker.eq(list(images.shape), [len(tv_labels), 3, 32, 32], "albumentations %s: batch shape" % split)
        if not train:
            checker.check(np.abs(images - normalized(hwc)).max() < 1e-5,
                          "albumentations val: differs from Normalize + ToTensorV2 by %g" %
                          np.abs(images - normalized(hwc)).max())
            checker.check(np.array_equal(labels, tv_labels), "albumentations val: labels")
            continue
        # RandomCrop(32, 32) of a 32x32 image is the image; HorizontalFlip(p=0.5) mirrors some.
        plain, flipped = normalized(hwc), normalized(hwc[:, :, ::-1, :])
        seen, flips = [], 0
        for image, label in zip(images, labels):
            for kind, candidates in ((0, plain), (1, flipped)):
                match = np.flatnonzero(np.abs(candidates - image).reshape(len(candidates), -1).max(axis=1) < 1e-5)
                if len(match):
                    seen.append(int(match[0]))
                    flips += kind
                    checker.check(tv_labels[match[0]] == label, "albumentations train: label of image %d" % match[0])
                    break
        checker.eq(sorted(seen), list(range(len(tv_labels))), "albumentations train: each image once per epoch")
        checker.check(0 < flips < len(tv_labels), "albumentations train: %d of %d flipped" % (flips, len(tv_labels)))


def check_recipes(checker, args, torch, work, cifar10_root, cifar100_root):
    if not os.path.isfile(os.path.join(args.sg_recipes, "variable_setup.yaml")):
        print("SKIP (recipes): SG's recipe folder %s is absent" % args.sg_recipes)
        return
    base = [args.train, "--config-dir", args.sg_recipes, "--config-name", "cifar10_resnet", "architecture=resnet_mini",
            "epochs=1", "batch_size=16", "val_batch_size=16", "+training_hyperparams.num_threads=1"]
    cases = {
        "cifar10": [],
        "cifar10_albumentations": ALBUMENTATIONS_RECIPE,
        "cifar100": ["dataset_params=cifar100_dataset_params", "train_dataloader=cifar100_train",
                     "val_dataloader=cifar100_val", "arch_params.num_classes=100"],
    }
    for which, extra in cases.items():
        root = cifar100_root if which == "cifar100" else cifar10_root
        runs = os.path.join(work, which + "_runs")
        r = sgtest.run(base + extra + ["ckpt_root_dir=" + runs,
                                       "dataset_params.train_dataset_params.root=" + root,
                                       "dataset_params.val_dataset_params.root=" + root], timeout=300)
        if not checker.check(r.rc == 0, "%s recipe: exit %s: %s" % (which, r.rc, r.err)):
            continue
        checker.check("24 training and 24 validation images" in r.err if which == "cifar100" else
                      "120 training and 24 validation images" in r.err, "%s recipe: image counts: %s" % (which, r.err))
        latest = glob.glob(os.path.join(runs, "*", "RUN_*", "ckpt_latest.pth"))
        if checker.check(len(latest) == 1, "%s recipe: one ckpt_latest.pth: %s" % (which, latest)):
            net = torch.load(latest[0], map_location="cpu")["net"]
            head = [k for k in net if net[k].dim() == 2]
            checker.check(head and net[head[-1]].shape[0] == (100 if which == "cifar100" else 10),
                          "%s recipe: classifier rows %s" % (which, [tuple(net[k].shape) for k in head]))


def main():
    args = sgtest.parse_args(__doc__, need_inspect=False, paths=("train", "dump", "loader-dump", "sg-recipes"))
    torch = sgtest.import_torch()
    import numpy as np
    try:
        import torchvision
    except Exception as e:  # pragma: no cover - environment problem
        sys.stderr.write("FAIL: %s cannot import torchvision (%s)\n" % (sys.executable, e))
        sys.exit(1)
    checker = sgtest.Checker("test_sg_cifar")
    work = sgtest.fresh_dir(args.workdir)
    cifar10_root, cifar100_root = check_dumps(checker, args, np, torchvision, work)
    check_hostile(checker, args, np, work)
    check_albumentations(checker, args, np, torch, torchvision, work, cifar10_root)
    check_recipes(checker, args, torch, work, cifar10_root, cifar100_root)
    checker.report()


if __name__ == "__main__":
    main()
