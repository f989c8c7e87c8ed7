"""Blocks evicted from the TSDF block grid, kept on disk until the camera comes back.

Each eviction writes one batch (block keys and one ``.npy`` per voxel array) to a private
temporary folder; an in-memory index of packed keys says which batch holds which block. Taking
blocks back reads only the rows needed (memory-mapped). The folder is removed with the store.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

_BIAS = 1 << 20  # block coordinates within ±2^20 blocks pack into 21 bits each


def pack(keys: np.ndarray) -> np.ndarray:
    """(N, 3) int block coordinates → (N,) int64 codes (one per block)."""
    k = keys.astype(np.int64) + _BIAS
    return (k[:, 0] << 42) | (k[:, 1] << 21) | k[:, 2]


class SpillStore:
    """Evicted blocks on disk (see module docstring). ``len(store)`` is the number of blocks held."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self._own = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="spatial-tsdf-spill-")) if directory is None else Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._batches: list[tuple[dict[str, Path], np.ndarray, np.ndarray]] = []  # (files, codes, alive mask)

    def __len__(self) -> int:
        return int(sum(alive.sum() for _, _, alive in self._batches))

    def put(self, keys: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Store blocks ``keys`` (N, 3) with their per-block ``values`` arrays (N, ...)."""
        if not len(keys):
            return
        files = {}
        for name, a in {"keys": keys, **values}.items():
            files[name] = self.directory / f"batch-{self._count:06d}.{name}.npy"
            np.save(files[name], a, allow_pickle=False)
        self._count += 1
        self._batches.append((files, pack(keys), np.ones(len(keys), bool)))

    def take(self, keys: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Remove and return the stored blocks among ``keys`` (all stored blocks when ``keys`` is
        ``None``), or ``None`` when none of them is stored."""
        want = pack(keys) if keys is not None else None
        out_keys, out_values = [], []
        for files, codes, alive in self._batches:
            hit = alive & (np.isin(codes, want) if want is not None else True)
            if not hit.any():
                continue
            rows = np.flatnonzero(hit)
            data = {name: np.load(f, mmap_mode="r")[rows] for name, f in files.items()}
            out_keys.append(data.pop("keys"))
            out_values.append(data)
            alive &= ~hit
        for files, _, alive in self._batches:
            if not alive.any():
                for f in files.values():
                    f.unlink(missing_ok=True)
        self._batches = [b for b in self._batches if b[2].any()]
        if not out_keys:
            return None
        names = out_values[0].keys()
        return np.concatenate(out_keys), {k: np.concatenate([v[k] for v in out_values]) for k in names}

    def close(self) -> None:
        self._batches = []
        if self._own:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __del__(self) -> None:
        self.close()
