"""Training on several processes or GPUs with torchrun: which rank this is, and what ranks agree on.

    torchrun --standalone --nproc_per_node 2 train.py --corpus big.txt --out runs/big

Each rank trains on its own share of every epoch's groups with DistributedDataParallel (gloo on
CPU, nccl on CUDA), which averages the gradients, so the weights stay identical. Rank 0 alone
evaluates, prints and writes; it also keeps the one clock and takes the decisions (evaluate now,
out of time, stop early), which every rank follows, so the time budget and the learning-rate
schedule agree. Across machines it is the same command with torchrun's rendezvous flags
(--nnodes, --node_rank, --rdzv_endpoint).
"""

from __future__ import annotations

import hashlib
import os
import sys

import torch
import torch.distributed as dist


def launch_command(processes: int, script_and_args: list[str]) -> list[str]:
    """The command line that runs a script under torchrun on this machine (`torchrun --standalone`,
    through this Python, so the same environment), with `processes` processes."""
    run = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    return [*run, *script_and_args]


def start() -> bool:
    """Join torchrun's process group when launched by it (one process too: the same path, checked on
    one GPU); whether we are distributed."""
    if dist.is_available() and dist.is_initialized():
        return True
    if "LOCAL_RANK" not in os.environ:
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return True


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def backend() -> str | None:
    """The process group's backend (gloo, nccl), or None outside torchrun."""
    return dist.get_backend() if dist.is_available() and dist.is_initialized() else None


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for in one process)."""
    if rank_and_world()[1] > 1:
        dist.barrier()


def _device() -> torch.device:
    return (
        torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    )


def from_rank0(values: list[float]) -> list[float]:
    """Rank 0's values, on every rank: decisions taken on one clock and one evaluation."""
    if rank_and_world()[1] == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_device())
    dist.broadcast(tensor, src=0)
    return tensor.tolist()


def weights_agree(model: torch.nn.Module) -> bool:
    """Whether every rank holds exactly the same weights (a checksum of their bytes, compared)."""
    if rank_and_world()[1] == 1:
        return True
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    mine = torch.tensor([int.from_bytes(digest.digest()[:7], "big")], dtype=torch.int64, device=_device())
    everyone = [torch.zeros_like(mine) for _ in range(rank_and_world()[1])]
    dist.all_gather(everyone, mine)
    return all(torch.equal(other, mine) for other in everyone)
