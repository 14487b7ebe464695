"""torch.distributed setup from the environment ``torchrun`` (or a spawner) provides.

One process per GPU (nccl) or per CPU worker (gloo). Without WORLD_SIZE > 1 nothing is
initialised and the helpers report a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Dist:
    """Join the process group when launched by torchrun; pick this process's device (one
    that is not on this machine is a ConfigError now, before any data is prepared)."""
    if device != "auto":
        from core.embed import DeviceError, pick_device

        from .config import ConfigError

        try:
            pick_device(device)
        except DeviceError as exc:
            raise ConfigError(f"run.device: {exc}") from None
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    dev = torch.device(f"cuda:{local}") if cuda else torch.device(
        "cpu" if device == "auto" else device)
    if cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, local, dev)


def teardown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def sync_buffers(module: torch.nn.Module, d: Dist) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank: DDP broadcasts
    them before each forward, so after the last step each rank holds its own batch's update."""
    if d.enabled:
        for b in module.buffers():
            dist.broadcast(b.data, src=0)


def mean(value: float, d: Dist) -> float:
    """Average of a float over all processes."""
    if not d.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64,
                     device=d.device if d.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / d.world
