"""What bench/train_loop.py and bench/eval_loop.py share: the default recipe's data and constants
(recipes/fashion_mnist_resnet.yaml + dataset_params/fashion_mnist_dataset_params.yaml)."""
import gzip
import math
import os

import numpy as np
import torch

ROOT = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530
SMOOTHING = 0.1
SEED = 42


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit("%s is not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != math.prod(dims):
        raise SystemExit("%s holds %d values, header says %s" % (path, arr.size, dims))
    return arr.reshape(dims)


def load(root, split):
    """Split "train" or "t10k": (N, 1, 28, 28) uint8 images and (N,) int64 labels."""
    images = torch.from_numpy(read_idx(os.path.join(root, "%s-images-idx3-ubyte.gz" % split)).copy())
    labels = torch.from_numpy(read_idx(os.path.join(root, "%s-labels-idx1-ubyte.gz" % split)).astype(np.int64))
    return images.unsqueeze(1), labels
