"""The data order of docs/training-config.md: deterministic, resumable, the same global batches on any world size.

Epoch e visits sequences in `numpy.random.Generator(PCG64(seed + e)).permutation(sequences)`, cut into global batches;
inside a global batch, micro-batch m of rank r takes positions (m × world_size + r) × micro_batch_size ... + mbs.
"""

from __future__ import annotations

import numpy as np


class GlobalOrder:
    def __init__(self, sequences: int, global_batch_size: int, steps_per_epoch: int, seed: int):
        if steps_per_epoch * global_batch_size > sequences:
            raise ValueError(f"steps_per_epoch {steps_per_epoch} × global batch {global_batch_size} > {sequences} sequences")
        self.sequences, self.global_batch_size = sequences, global_batch_size
        self.steps_per_epoch, self.seed = steps_per_epoch, seed
        self._cache: tuple[int, np.ndarray] | None = None

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, step inside the epoch) of global optimizer step `step` (0-based)."""
        return divmod(step, self.steps_per_epoch)

    def permutation(self, epoch: int) -> np.ndarray:
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, np.random.Generator(np.random.PCG64(self.seed + epoch)).permutation(self.sequences))
        return self._cache[1]

    def global_batch(self, step: int) -> np.ndarray:
        epoch, inner = self.position(step)
        return self.permutation(epoch)[inner * self.global_batch_size:(inner + 1) * self.global_batch_size]

    def micro_batch(self, step: int, micro: int, rank: int, world_size: int, micro_batch_size: int) -> np.ndarray:
        start = (micro * world_size + rank) * micro_batch_size
        if start + micro_batch_size > self.global_batch_size:
            raise ValueError(f"micro-batch {micro} of rank {rank} lies outside global batch size {self.global_batch_size}")
        return self.global_batch(step)[start:start + micro_batch_size]

    def first_position(self, micro: int, rank: int, world_size: int, micro_batch_size: int) -> int:
        """Position inside the global batch of this micro-batch's first sequence (world-size independent)."""
        return (micro * world_size + rank) * micro_batch_size
