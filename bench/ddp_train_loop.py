#!/usr/bin/python3
"""The Python side of scripts/bench-ddp (run that for the comparison): bench/train_loop.py's
loop, data and model as torchrun's workers, the model wrapped in
torch.nn.parallel.DistributedDataParallel over Gloo (its defaults: 25 MiB buckets, gradients
averaged during backward), each worker on a DistributedSampler-style shard of the same epoch
order (train_loop.Batches), batch 128 per worker as sg-train's batch_size under torchrun.

    torchrun --no_python ... --nproc_per_node 2 /usr/bin/python3 bench/ddp_train_loop.py --threads 1

(or torchrun without --no_python). Rank 0 prints train_loop.py's result line for the whole
job: images_per_s counts every worker's images over the slowest worker's seconds (the timed
batches after --warmup, per-step timing in the loop), data_fraction is the slowest worker's.
"""

import os
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import train_loop


def main():
    parser = train_loop.arguments(__doc__)
    a = train_loop.parse(parser)
    missing = [v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        parser.error("start it with torchrun (no %s in the environment)" % ", ".join(missing))
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    meter = train_loop.train(a, rank, world, wrap=DistributedDataParallel)

    totals = meter.totals()
    samples = torch.tensor(totals[:2], dtype=torch.float64)
    seconds = torch.tensor(totals[2:], dtype=torch.float64)
    dist.all_reduce(samples, op=dist.ReduceOp.SUM)
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    if rank == 0:
        sys.stderr.write("ddp_train_loop: %d workers, %d+%d batches each, %d threads: rank 0 %s\n" % (
            world, a.warmup, a.batches, torch.get_num_threads(), meter.metrics()))
        print(meter.result_line(samples.tolist() + seconds.tolist()))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
