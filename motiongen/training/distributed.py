"""One training run over several processes (`accelerate launch`, torchrun), giving the model a
single process would give with the same config.

The global batch (`batch_size`) is cut into `micro_batches` equal parts. Part p of step s draws
its windows and its noise from its own generator, seeded by (seed, s, p), so what a part holds
does not depend on who computes it. Each process takes micro_batches / processes consecutive
parts, accumulates their gradients, and the processes average theirs: the update is the mean
over all parts whatever the number of processes (up to float summation order). Checkpoints,
logs and the final pipeline are written by the main process only.
"""

from __future__ import annotations

import torch

from motiongen.errors import UserError

# torch's CPU generator keeps only the low 32 bits of a seed, so parts are spread over those:
# part p of step s meets part 0 of another step only ~10^8 steps away.
PART_STRIDE = 0x9E3779B1


def part_generator(seed: int, step: int, part: int) -> torch.Generator:
    """The generator of one part of one step (part 0: the single-batch trainer's seed, unchanged)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step + part * PART_STRIDE) % (1 << 64))


def my_parts(micro_batches: int, accelerator) -> range:
    """The parts of every step this process computes."""
    processes = accelerator.num_processes
    if micro_batches % processes:
        raise UserError(
            f"micro_batches ({micro_batches}) must be a multiple of the number of processes ({processes}); "
            f"set micro_batches: {processes} (or a multiple) in the config"
        )
    share = micro_batches // processes
    return range(accelerator.process_index * share, (accelerator.process_index + 1) * share)


def average_gradients(parameters: list[torch.nn.Parameter], accelerator) -> None:
    """Average the gradients over processes, in place. A parameter no process used keeps no
    gradient (as in one process); one some process used gets the average, zeros counted."""
    if accelerator.num_processes == 1:
        return
    used = torch.tensor([p.grad is not None for p in parameters], dtype=torch.float32, device=parameters[0].device)
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in parameters])
    torch.distributed.all_reduce(used)
    torch.distributed.all_reduce(flat)
    flat /= accelerator.num_processes
    offset = 0
    for p, anyone in zip(parameters, used.tolist(), strict=True):
        n = p.numel()
        if anyone:
            p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def mean_over_processes(values: dict[str, float], accelerator) -> dict[str, float]:
    """Per-process averages of the logged losses -> their average over all processes."""
    if accelerator.num_processes == 1:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=accelerator.device)
    torch.distributed.all_reduce(tensor)
    return {k: float(v) / accelerator.num_processes for k, v in zip(keys, tensor.tolist(), strict=True)}
