"""Replay throughput with and without read-ahead decoding, on the 7-Scenes segment.

    python benchmarks/replay_throughput.py [--data DIR] [--repeats 3]

Runs the two settings alternately (so drift in machine load hits both alike), touches one pixel
of each frame's colour and depth so no decoding is skipped, and reports the frames/s of
each (median over repetitions) and their ratio. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import sensors

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "7scenes"


def replay_fps(session: sensors.Session, readahead: int) -> tuple[float, tuple[int, int]]:
    """Frames per second of one full pass, and the colour image size (width, height)."""
    t0 = time.perf_counter()
    n = touched = 0
    for frame in session.frames(readahead=readahead):
        touched += int(frame.color[0, 0, 0]) + int(frame.depth_m[0, 0] > 0)  # use the decoded arrays
        n += 1
    return n / (time.perf_counter() - t0), (frame.color.shape[1], frame.color.shape[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="7-Scenes sequence folder")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions of each setting")
    args = parser.parse_args()

    with sensors.open(args.data, format="7scenes") as session:
        replay_fps(session, readahead=8)  # warm the file cache so the first timed pass is not penalised
        runs: dict[str, list[float]] = {"readahead": [], "plain": []}
        for _ in range(args.repeats):
            for name, readahead in (("readahead", 8), ("plain", 0)):
                fps, size = replay_fps(session, readahead)
                runs[name].append(fps)
                print(f"{name:<10} {fps:7.1f} frames/s")
    fast, plain = statistics.median(runs["readahead"]), statistics.median(runs["plain"])
    print(json.dumps({
        "frames": session.num_frames,
        "image_width": size[0],
        "image_height": size[1],
        "repeats": args.repeats,
        "replay_fps_readahead": round(fast, 1),
        "replay_fps_plain": round(plain, 1),
        "readahead_speedup": round(fast / plain, 2),
    }))


if __name__ == "__main__":
    main()
