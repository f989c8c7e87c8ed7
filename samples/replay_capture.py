"""Open a capture, print its summary, then replay it and print simple per-frame statistics.

    python samples/replay_capture.py ../shared/data/7scenes --max-frames 20
"""

import argparse

import numpy as np

import sensors

parser = argparse.ArgumentParser(description="Replay a capture and print per-frame statistics.")
parser.add_argument("path", help="capture file or folder")
parser.add_argument("--format", default=None, help="format name (default: detected)")
parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
args = parser.parse_args()

with sensors.open(args.path, format=args.format) as session:
    print(session.summary())
    print()
    print("frame   time s  valid depth %  median depth m  mean brightness")
    for k, frame in enumerate(session.frames()):
        if k == args.max_frames:
            break
        depth = frame.depth_m if frame.depth_m is not None else np.zeros((1, 1), np.float32)
        valid = depth > 0
        median = float(np.median(depth[valid])) if valid.any() else float("nan")
        brightness = float(frame.color.mean()) if frame.color is not None else float("nan")
        print(f"{k:5d} {frame.timestamp_ns / 1e9:8.3f} {100 * valid.mean():14.1f} {median:15.3f} {brightness:16.1f}")
