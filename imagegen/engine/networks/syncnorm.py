"""Batch norm whose statistics cover the whole batch when it is split across processes.

With DistributedDataParallel each process sees its slice of the batch; plain batch norm
would then normalise with per-slice means and variances, so N processes would not train
the same network as one process on the whole batch. ``torch.nn.SyncBatchNorm`` fixes that
on GPUs only (it refuses CPU tensors), and a catalogue trained with ``--nproc`` on CPU
(tests, gloo) must match too. This layer does it on any device with one differentiable
all-reduce of (sum, sum of squares, count) per layer and step; outside a distributed run,
and in eval mode, it is exactly ``nn.BatchNorm2d`` (and exports to ONNX as such).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistributedBatchNorm2d"]


class DistributedBatchNorm2d(nn.BatchNorm2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        c = x.shape[1]
        x32 = x.float()
        count = torch.full((1,), float(x.numel() // c), device=x.device)
        stats = torch.cat([x32.sum(dim=(0, 2, 3)), (x32 * x32).sum(dim=(0, 2, 3)), count])
        stats = all_reduce(stats)  # differentiable: gradients flow through the global statistics
        total = stats[-1]
        mean = stats[:c] / total
        var = (stats[c : 2 * c] / total - mean * mean).clamp_min(0)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * total / (total - 1).clamp_min(1), m)
        out = (x32 - mean.view(1, c, 1, 1)) * torch.rsqrt(var.view(1, c, 1, 1) + self.eps)
        if self.affine:
            out = out * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)
        return out.to(x.dtype)
