"""``hands.jsonl``: one JSON object per frame (see :meth:`HandsResult.to_json`), written
atomically (the file appears under its name only when complete)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from sensors.errors import FormatError
from sensors.formats._atomic import atomic_path

from .result import HandsResult

#: keys of every line and of every hand in ``hands.jsonl``
LINE_KEYS = ("timestamp_ns", "image_size", "flags", "hands")
HAND_KEYS = (
    "track_id", "handedness", "score", "landmarks_px", "world_landmarks_m", "joints_camera_m",
    "joints_world_m", "lift", "scale", "flags", "gestures",
)


def write_jsonl(results: Iterable[HandsResult], path: str | Path) -> int:
    """Write ``results`` to ``path`` (one line each); returns the number of lines."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for r in results:
            fh.write(json.dumps(r.to_json(), separators=(",", ":")) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The lines of a ``hands.jsonl`` file as dicts (checked for the expected keys)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError("hands.jsonl is missing", path)
    with open(path) as fh:
        for i, line in enumerate(fh, start=1):
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"line {i} is not valid JSON ({exc})", path) from None
            missing = [k for k in LINE_KEYS if k not in d] + [k for h in d.get("hands", []) for k in HAND_KEYS if k not in h]
            if missing:
                raise FormatError(f"line {i} lacks {sorted(set(missing))}", path)
            yield d
