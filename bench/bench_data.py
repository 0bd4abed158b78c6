"""Driver of scripts/bench-data: makes an ImageFolder of ~500x375 JPEGs with PIL, then
measures, in the same run, images/s of
  - reading the files (cat into memory: the raw reference),
  - lib/image: decode, and decode + SG's ImageNet training transforms
    (RandomResizedCropAndInterpolation 224 bilinear, RandomHorizontalFlip, ToTensor + Normalize),
    on 1 and N threads (bench/data_bench.cpp),
  - torchvision: the same transforms through datasets.ImageFolder + DataLoader
    (batch 64; 0 workers = single thread in the main process, then N worker processes),
and prints them side by side.
"""

import argparse
import os
import subprocess
import sys
import time

from image_folder import make_folder


def cat_files(root):
    t0 = time.perf_counter()
    n = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                f.read()
            n += 1
    return n, time.perf_counter() - t0


def torchvision_rate(root, workers, epochs):
    import torch
    import torchvision
    import torchvision.transforms as T
    torch.set_num_threads(1)
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = torchvision.datasets.ImageFolder(root, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers,
                                         persistent_workers=workers > 0)
    for _ in loader:   # warm-up epoch: workers started, files in the page cache
        break
    t0 = time.perf_counter()
    n = 0
    for _ in range(epochs):
        for images, _ in loader:
            n += images.shape[0]
    return n, time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bench", required=True, help="the built data_bench")
    p.add_argument("--work", required=True, help="scratch folder for the images")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--images", type=int, default=512)
    p.add_argument("--epochs", type=int, default=2)
    a = p.parse_args()

    root = os.path.join(a.work, "train")
    classes = 8
    make_folder(root, classes, max(1, a.images // classes))
    n_files, _ = cat_files(root)   # into the page cache before anything is timed
    sizes = [os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs]
    print("folder: %d JPEGs of 500x375 / 375x500 (quality 90, %.0f KB on average)" % (
        n_files, sum(sizes) / len(sizes) / 1024), file=sys.stderr)

    rows = {}
    n, dt = cat_files(root)
    rows[("read (Python open+read)", 1)] = n / dt
    out = subprocess.run([a.bench, root, str(a.threads), str(a.epochs)], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        what, threads, _, _, rate = line.split()
        rows[("ours: " + what, int(threads))] = float(rate)
    for workers, threads in ((0, 1), (a.threads, a.threads)):
        n, dt = torchvision_rate(root, workers, a.epochs)
        rows[("torchvision: decode+transforms", threads)] = n / dt

    print("%-34s %14s %14s" % ("images/s", "1 thread", "%d threads" % a.threads))
    for what in dict.fromkeys(w for w, _ in rows):
        cells = ["%14s" % ("%.0f" % rows[(what, t)] if (what, t) in rows else "-") for t in (1, a.threads)]
        print("%-34s %s" % (what, " ".join(cells)))
    ours, theirs = rows.get(("ours: decode+transforms", a.threads)), rows.get(("torchvision: decode+transforms", a.threads))
    if ours and theirs:
        print("ours / torchvision at %d threads: %.2fx" % (a.threads, ours / theirs))


if __name__ == "__main__":
    main()
