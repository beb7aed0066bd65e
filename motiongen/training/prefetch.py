"""The batches of a run, in order, built ahead by worker processes (`loader_workers`) so that a
GPU never waits for the CPU to make windows.

Each item is one part of one step (training/distributed.py): its batch and the state its
generator is left in, which the training step goes on drawing noise from. The batch a part gets
therefore does not depend on whether, or by how many workers, it was built ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from motiongen.training.distributed import part_generator


class _Parts(Dataset):
    def __init__(self, draw: Callable, items: list[tuple[int, int]], seed: int, size: int):
        self.draw, self.items, self.seed, self.size = draw, items, seed, size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        step, part = self.items[index]
        generator = part_generator(self.seed, step, part)
        return self.draw(self.size, generator), generator.get_state()


def part_batches(
    draw: Callable, parts: range, seed: int, size: int, first_step: int, steps: int, workers: int = 0
) -> Iterator[tuple[object, torch.Generator]]:
    """(batch, generator) for every part of this process of every step from `first_step` on;
    `draw(size, generator)` makes a batch."""
    items = [(step, part) for step in range(first_step, steps) for part in parts]
    if workers <= 0:
        for step, part in items:
            generator = part_generator(seed, step, part)
            yield draw(size, generator), generator
        return
    loader = DataLoader(
        _Parts(draw, items, seed, size), batch_size=None, shuffle=False, num_workers=workers,
        prefetch_factor=4, persistent_workers=False,
    )  # fmt: skip
    for batch, state in loader:
        generator = torch.Generator()
        generator.set_state(state)
        yield batch, generator
