"""Track a capture frame by frame (as a device test harness would), report every frame that is
not tracked by vision, then fuse the scan at the tracked poses and export it.

    python samples/track_and_scan.py ../shared/data/7scenes --out kitchen.glb
    python samples/track_and_scan.py studio.mcap --out studio.glb --max-frames 300

Prints the ATE against the capture's ground truth when it has one.
"""

import argparse

import sensors
import spatial
from spatial.eval.trajectory import ate
from spatial.fusion import Tracker, TrackerConfig
from spatial.reconstruction import ReconstructionConfig

parser = argparse.ArgumentParser(description="Track a capture, then fuse and export the scan.")
parser.add_argument("path", help="capture file or folder")
parser.add_argument("--out", required=True, help="scan to write (.glb, .ply, .obj or .usdz)")
parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
parser.add_argument("--voxel", type=float, default=0.02, help="voxel size of the exported scan in metres")
args = parser.parse_args()

with sensors.open(args.path) as session:
    # the IMU is used when the capture has one and its calibration gives T_imu_camera
    tracker = Tracker(session.calibration, TrackerConfig(), session.imu(), session.path)
    for k, frame in enumerate(session.frames()):
        if k == args.max_frames:
            break
        status = tracker.process(frame)  # one call per frame: the streaming API
        if status.source not in ("start", "vision", "vision+imu"):
            print(f"frame {status.index:5d} at {frame.timestamp_ns / 1e9:8.3f} s: {status.source}: {status.reason}")
    result = tracker.finish()
    st = result.stats
    print(f"tracked {st['tracked']} of {st['frames']} frames ({st['lost']} lost, {st['loop_closures']} loop closures) "
          f"at {st['fps']:.1f} frames/s; gravity-aligned: {result.gravity_aligned}")
    gt = session.ground_truth.poses if session.ground_truth is not None else None
    if gt is not None and len(gt) and len(result.trajectory) >= 3:
        print(f"ATE against the ground truth: {100 * ate(gt, result.trajectory).rmse_m:.2f} cm")

    config = ReconstructionConfig(voxel_size_m=args.voxel, max_frames=args.max_frames)
    scene = spatial.reconstruct(session, config, poses=result.trajectory)
    path = scene.export(args.out)
    print(f"wrote {path}: {len(scene.mesh.triangles)} triangles from {scene.metadata['stats']['frames_fused']} frames")
