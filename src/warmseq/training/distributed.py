"""DDP set-up from torchrun's environment variables, and the few collectives training needs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class RankInfo:
    """This process's place in the job; rank 0 writes files."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def is_launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARIABLES) and int(os.environ["WORLD_SIZE"]) > 1


def start_distributed(device_type: str) -> RankInfo:
    """Join the process group torchrun described (gloo on CPU, nccl on CUDA); one process otherwise."""
    if not is_launched_by_torchrun():
        return RankInfo()
    rank_info = RankInfo(
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
    )
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank_info.rank, world_size=rank_info.world_size)
    return rank_info


def stop_distributed(started_here: bool) -> None:
    if started_here and dist.is_initialized():
        dist.destroy_process_group()


def sum_across_ranks(values: list[float], rank_info: RankInfo, device: torch.device) -> list[float]:
    """Element-wise sum of `values` over all ranks (float64; identity in one process)."""
    if not rank_info.is_distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def gather_tensors(tensor: torch.Tensor, rank_info: RankInfo) -> list[torch.Tensor]:
    """Every rank's copy of a same-shaped tensor, in rank order."""
    if not rank_info.is_distributed:
        return [tensor]
    gathered = [torch.empty_like(tensor) for _ in range(rank_info.world_size)]
    dist.all_gather(gathered, tensor)
    return gathered


def broadcast_flag(flag: bool, rank_info: RankInfo, device: torch.device) -> bool:
    """Rank 0's value of `flag` on every rank."""
    if not rank_info.is_distributed:
        return flag
    tensor = torch.tensor([int(flag)], device=device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def barrier(rank_info: RankInfo) -> None:
    if rank_info.is_distributed:
        dist.barrier()
