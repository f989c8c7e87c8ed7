"""Reading rerun recordings back in tests."""

from __future__ import annotations

from pathlib import Path

import pytest

rr = pytest.importorskip("rerun")


def read_rrd(path: Path) -> dict[str, dict[str, list]]:
    """Entity path -> column -> values, over every chunk of the recording (rerun's own reader)."""
    out: dict[str, dict[str, list]] = {}
    for chunk in rr.chunk.RrdReader(path).store().stream():
        batch = chunk.to_record_batch()
        cols = out.setdefault(chunk.entity_path, {})
        for name in batch.column_names:
            col = batch.column(name)
            values = col.cast("int64").to_pylist() if name == "time" else col.to_pylist()
            cols.setdefault(name, []).extend(values)
    return out
