"""Per-step accounting of the Python training loops of scripts/bench-train and bench-ddp
(bench/train_loop.py, bench/ddp_train_loop.py, bench/folder_train_loop.py): time, data time,
loss and the Accuracy / Top-k counts our trainer keeps, over all steps and over the timed ones
after the warm-up."""

import time

import torch


class StepMeter:
    def __init__(self, warmup, k=5):
        self.warmup, self.k = warmup, k
        self.top1 = torch.zeros((), dtype=torch.int64)
        self.topk = torch.zeros((), dtype=torch.int64)
        self.loss_sum = 0.0
        self.samples = self.timed_samples = 0
        self.data = self.timed_data = 0.0
        self.start = self.timed_start = self.end = time.perf_counter()

    def begin(self, step):
        """At the top of a step; returns the time, for the data clock."""
        now = time.perf_counter()
        if step == 0:
            self.start = self.timed_start = now
        if step == self.warmup:
            self.timed_start = now
        return now

    def data_done(self, step, since):
        dt = time.perf_counter() - since
        self.data += dt
        if step >= self.warmup:
            self.timed_data += dt

    def step_done(self, step, logits, labels, loss_value):
        """Like our trainer per step: the loss value, Accuracy and Top-k from one topk."""
        with torch.no_grad():
            hits = logits.topk(self.k, 1).indices.eq(labels.view(-1, 1))
            self.top1 += hits[:, 0].sum()
            self.topk += hits.any(1).sum()
        n = labels.numel()
        self.loss_sum += loss_value * n
        self.samples += n
        if step >= self.warmup:
            self.timed_samples += n
        self.end = time.perf_counter()

    def metrics(self):
        return "Accuracy %.4f, Top%d %.4f, loss %.4f" % (
            self.top1.item() / self.samples, self.k, self.topk.item() / self.samples, self.loss_sum / self.samples)

    def totals(self):
        """[timed samples, samples, timed seconds, seconds, timed data seconds, data seconds]:
        what result_line reports, for bench/ddp_train_loop.py to combine across workers."""
        return [self.timed_samples, self.samples, self.end - self.timed_start, self.end - self.start,
                self.timed_data, self.data]

    def result_line(self, totals=None):
        """images_per_s and data_fraction over the timed steps, the `_all` ones over all
        (of `totals`, default this meter's own)."""
        timed_samples, samples, timed, seconds, timed_data, data = totals or self.totals()
        return "images_per_s=%.2f data_fraction=%.4f images_per_s_all=%.2f data_fraction_all=%.4f seconds=%.3f" % (
            timed_samples / timed, timed_data / timed, samples / seconds, data / seconds, timed)
