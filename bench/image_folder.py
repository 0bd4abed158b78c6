#!/usr/bin/python3
"""A torchvision ImageFolder of photo-like JPEGs made by PIL, for the benchmarks on image
folders (scripts/bench-data, scripts/bench-train --folder): CLASSES folders class00,
class01, ... of PER_CLASS JPEGs each, 500x375 (every fourth one 375x500, portrait, as in
ImageNet), quality 90; the same seed gives the same files.

    image_folder.py ROOT --classes C --per-class N
"""

import argparse
import os

import numpy as np
from PIL import Image


def make_folder(root, classes, per_class, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:375, 0:500]
    for c in range(classes):
        os.makedirs(os.path.join(root, "class%02d" % c), exist_ok=True)
        for i in range(per_class):
            # Photo-like content (smooth shapes + texture), so the JPEG is of realistic size.
            phase = rng.uniform(0, 6.3, 3)
            img = np.stack([128 + 90 * np.sin(x / rng.uniform(8, 40) + phase[k]) * np.cos(y / rng.uniform(8, 40))
                            for k in range(3)], axis=-1)
            img += rng.normal(0, 18, img.shape)
            arr = np.clip(img, 0, 255).astype(np.uint8)
            if i % 4 == 0:
                arr = arr.transpose(1, 0, 2).copy()
            Image.fromarray(arr).save(os.path.join(root, "class%02d" % c, "%04d.JPEG" % i), quality=90)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", help="folder to fill (made if absent)")
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--per-class", type=int, required=True)
    a = p.parse_args()
    if a.classes < 1 or a.per_class < 1:
        p.error("--classes and --per-class must be positive")
    make_folder(a.root, a.classes, a.per_class)


if __name__ == "__main__":
    main()
