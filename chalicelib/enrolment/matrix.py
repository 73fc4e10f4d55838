"""The local store's in-memory search: one tenant's descriptors of the
current model version in fixed-size contiguous float32 blocks, searched
exactly (chalicelib/enrolment/sqlite.py keeps one per tenant).

Blocks of ``BLOCK_ROWS`` rows hold each row's squared norm and subject key
(520 bytes a face, ~0.5 GB at a million). Fixed-size blocks grow without
ever copying the whole matrix (a doubling array would need twice the memory
for a moment). Search is exact: ||x - q||^2 = |x|^2 + |q|^2 - 2 x.q for every
row with one matrix-vector product per block, candidates re-checked in
float64."""

from __future__ import annotations

import math

import numpy as np

DIM = 128
BLOCK_ROWS = 65_536
# Float32 dot products can be off by ~1e-6 in squared distance; candidates
# are taken with this margin, then checked exactly in float64.
_PREFILTER_MARGIN = 1e-4


class Matrix:
    """Descriptors of one model version in fixed-size contiguous blocks."""

    def __init__(self, block_rows: int = BLOCK_ROWS) -> None:
        self.block_rows = block_rows
        self.vectors: list[np.ndarray] = []  # (block_rows, DIM) float32
        self.norms: list[np.ndarray] = []  # (block_rows,) float32: |x|^2
        self.subjects: list[np.ndarray] = []  # (block_rows,) int64: subjects.id
        self.count = 0

    def _grow(self) -> None:
        self.vectors.append(np.zeros((self.block_rows, DIM), np.float32))
        self.norms.append(np.zeros(self.block_rows, np.float32))
        self.subjects.append(np.zeros(self.block_rows, np.int64))

    def extend(self, vectors: np.ndarray, subjects: np.ndarray) -> None:
        done = 0
        while done < len(vectors):
            block, offset = divmod(self.count, self.block_rows)
            if block == len(self.vectors):
                self._grow()
            take = min(len(vectors) - done, self.block_rows - offset)
            rows = vectors[done : done + take]
            self.vectors[block][offset : offset + take] = rows
            self.norms[block][offset : offset + take] = np.einsum("ij,ij->i", rows, rows)
            self.subjects[block][offset : offset + take] = subjects[done : done + take]
            self.count += take
            done += take

    def _move(self, source: int, target: int) -> None:
        sb, so = divmod(source, self.block_rows)
        tb, to = divmod(target, self.block_rows)
        self.vectors[tb][to] = self.vectors[sb][so]
        self.norms[tb][to] = self.norms[sb][so]
        self.subjects[tb][to] = self.subjects[sb][so]

    def remove_subject(self, subject: int) -> int:
        """Drop the subject's rows (each replaced by the current last row)."""
        rows = sorted(self.rows_of(subject), reverse=True)
        for row in rows:
            last = self.count - 1
            if row != last:
                self._move(last, row)
            lb, lo = divmod(last, self.block_rows)
            self.vectors[lb][lo] = 0.0  # no copy of an erased descriptor stays in memory
            self.count -= 1
        # Free emptied blocks, keeping one spare so that an erasure followed
        # by an enrolment at a block boundary does not reallocate each time.
        needed = -(-self.count // self.block_rows)
        while len(self.vectors) > needed + 1:
            for blocks in (self.vectors, self.norms, self.subjects):
                blocks.pop()
        return len(rows)

    def rows_of(self, subject: int) -> list[int]:
        found: list[int] = []
        for b, keys in enumerate(self.subjects):
            n = min(self.block_rows, self.count - b * self.block_rows)
            if n <= 0:
                break
            found.extend(int(i) + b * self.block_rows for i in np.flatnonzero(keys[:n] == subject))
        return found

    def within(self, query: np.ndarray, max_distance: float) -> list[tuple[int, float]]:
        """(subject key, exact distance) of every row within max_distance."""
        if self.count == 0:
            return []
        q = query.astype(np.float32)
        q_norm = float(np.dot(q, q))
        limit = (
            max_distance * max_distance + _PREFILTER_MARGIN
            if math.isfinite(max_distance)
            else math.inf
        )
        q64 = query.astype(np.float64)
        found: list[tuple[int, float]] = []
        for b, block in enumerate(self.vectors):
            n = min(self.block_rows, self.count - b * self.block_rows)
            if n <= 0:
                break
            # einsum, not `@`: OpenBLAS would spread each product over every
            # core and, on a busy 2-core machine, wait for them (20 ms instead
            # of 1 ms per block in scripts/bench_search.py runs).
            d2 = self.norms[b][:n] + q_norm - 2.0 * np.einsum("ij,j->i", block[:n], q)
            for i in np.flatnonzero(d2 <= limit):
                distance = float(np.linalg.norm(block[i].astype(np.float64) - q64))
                if distance <= max_distance:
                    found.append((int(self.subjects[b][i]), distance))
        return found
