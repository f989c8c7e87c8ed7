"""Reconstruction benchmark: quality, speed and memory of TSDF fusion.

* Quality (simulator): a 5 x 5 x 3 m studio scanned at 640x480 (the simulator's default tour),
  fused at 1 cm with ground-truth poses; F-score against the ground-truth mesh, restricted to
  the surface visible from the trajectory within the fusion depth range.
* Quality (real): the 7-Scenes segment (../shared/data/7scenes, 300 frames, its poses) fused at
  1 cm and 2 cm, against a reference fused from the same frames at 5 mm.
* Speed: integration frames/s at 640x480 on the 7-Scenes frames (decoded beforehand, so only
  fusion is timed), 1 cm and 2 cm voxels, against a plain Open3D ``VoxelBlockGrid`` loop on the
  same frames in the same process (Open3D's tutorial set-up: 16³-voxel blocks, float32
  attributes, ``block_count=50000``, truncation 8 voxels, no filtering), interleaved and
  repeated; the ratio is the median of the paired ratios. The SDK's volume runs with its
  default pre-filtering (bilateral + edge removal) and growth. A plain loop with the SDK's grid
  shape (8³ blocks, truncation 4 voxels) is printed too.
* Memory: peak RSS of a whole ``spatial.reconstruct`` of the simulated room at 1 cm (and of
  the plain loop on the same frames), each in its own subprocess.

    python benchmarks/reconstruction.py [--repeats 3] [--png outputs/reconstruction_7scenes.png]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEVEN_SCENES = ROOT.parent / "shared" / "data" / "7scenes"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # Linux: kilobytes


def run_worker(*args: str) -> dict:
    """Run this script as ``--worker …`` in a fresh process; return its last-line JSON."""
    done = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- workers (each in its own process) -------------------------------------------------------------
def plain_grid(voxel: float, block_resolution: int = 16):
    """Open3D's tutorial grid: float32 TSDF, weight and colour, ``block_count=50000``."""
    import open3d as o3d

    f32 = o3d.core.float32
    return o3d.t.geometry.VoxelBlockGrid(("tsdf", "weight", "color"), (f32, f32, f32), ((1), (1), (3)), voxel, block_resolution, 50000)


def plain_integrate(vbg, Kt, frame, T: np.ndarray, trunc_voxels: float = 8.0) -> None:
    """One step of Open3D's tutorial integration loop."""
    import open3d as o3d

    depth = o3d.t.geometry.Image(o3d.core.Tensor((frame.depth_m * np.float32(1000) + np.float32(0.5)).astype(np.uint16)))
    color = o3d.t.geometry.Image(o3d.core.Tensor(frame.color))
    ext = o3d.core.Tensor(np.linalg.inv(T), o3d.core.float64)
    blocks = vbg.compute_unique_block_coordinates(depth, Kt, ext, 1000.0, 4.0, trunc_voxels)
    vbg.integrate(blocks, depth, color, Kt, Kt, ext, 1000.0, 4.0, trunc_voxels)


def plain_loop(frames, poses, K, voxel: float, block_resolution: int = 16, trunc_voxels: float = 8.0) -> float:
    """Open3D's tutorial loop over ``frames``; returns frames/s."""
    import open3d as o3d

    vbg = plain_grid(voxel, block_resolution)
    Kt = o3d.core.Tensor(K.K, o3d.core.float64)
    t0 = time.perf_counter()
    for f, T in zip(frames, poses):
        plain_integrate(vbg, Kt, f, T, trunc_voxels)
    return len(frames) / (time.perf_counter() - t0)


def sdk_loop(frames, poses, K, voxel: float) -> float:
    from spatial.reconstruction import TSDFVolume

    volume = TSDFVolume(voxel)
    t0 = time.perf_counter()
    for f, T in zip(frames, poses):
        volume.integrate(f.depth_m, f.color, K, T)
    return len(frames) / (time.perf_counter() - t0)


def worker_speed(voxel: float, repeats: int) -> dict:
    import sensors

    with sensors.open(SEVEN_SCENES) as session:
        frames = list(session.frames())
        gt = session.ground_truth.poses
    poses = [gt.T_world_body[gt.index_of(f.timestamp_ns)] for f in frames]
    K = frames[0].intrinsics
    runs: dict[str, list[float]] = {"open3d": [], "sdk": [], "open3d_same_grid": []}
    sdk_loop(frames[:20], poses[:20], K, voxel)  # warm-up (imports, first allocations)
    for _ in range(repeats):
        runs["open3d"].append(plain_loop(frames, poses, K, voxel))
        runs["sdk"].append(sdk_loop(frames, poses, K, voxel))
        runs["open3d_same_grid"].append(plain_loop(frames, poses, K, voxel, 8, 4.0))
    return runs


def worker_reconstruct(session_path: str, voxel: float, evaluate: bool) -> dict:
    """A whole reconstruct (peak RSS of this process), then metrics against the GT mesh."""
    import sensors
    import spatial
    from spatial.reconstruction import ReconstructionConfig

    config = ReconstructionConfig(voxel_size_m=voxel)
    with sensors.open(session_path) as session:
        t0 = time.perf_counter()
        scene = spatial.reconstruct(session, config, poses="ground_truth")
        seconds = time.perf_counter() - t0
        rss = peak_rss_gb()
        mesh_path = session.ground_truth.mesh_path
    out = {"seconds": seconds, "peak_rss_gb": rss, "stats": scene.metadata["stats"]}
    if evaluate:
        from spatial.eval.reconstruction import reconstruction_metrics, sample_surface, visible_mask
        from spatial.scene import Mesh

        gt = Mesh.load(mesh_path)
        n = 200_000
        seen = visible_mask(
            sample_surface(gt, n, seed=1), gt, scene.trajectory.T_world_body[::10], scene.intrinsics,
            config.depth_min_m, config.depth_max_m,
        )
        out["metrics"] = reconstruction_metrics(scene.mesh, gt, samples=n, reference_mask=seen).to_dict()
        out["metrics_unculled"] = reconstruction_metrics(scene.mesh, gt, samples=n).to_dict()
        out["visible_fraction"] = float(seen.mean())
    return out


def worker_plain_rss(session_path: str, voxel: float) -> dict:
    """The plain Open3D loop streaming over a session (peak RSS of this process)."""
    import open3d as o3d

    import sensors

    vbg = plain_grid(voxel)
    with sensors.open(session_path) as session:
        gt = session.ground_truth.poses
        Kt = o3d.core.Tensor(session.calibration.color.K, o3d.core.float64)
        for f in session.frames():
            plain_integrate(vbg, Kt, f, gt.T_world_body[gt.index_of(f.timestamp_ns)])
    return {"peak_rss_gb": peak_rss_gb(), "blocks": int(vbg.hashmap().size())}


def worker_seven_scenes(png: str) -> dict:
    """7-Scenes at 1 cm and 2 cm against a 5 mm reference; a picture of the 1 cm mesh."""
    import sensors
    import spatial
    from spatial.eval.reconstruction import reconstruction_metrics
    from spatial.reconstruction import ReconstructionConfig
    from spatial.viz.mesh_render import overview_pose, save_mesh_png

    out: dict = {}
    with sensors.open(SEVEN_SCENES) as session:
        reference = spatial.reconstruct(session, ReconstructionConfig(voxel_size_m=0.005, keyframe_every=0),
                                        poses="ground_truth").mesh
        out["reference_triangles"] = len(reference.triangles)
        for voxel in (0.01, 0.02):
            t0 = time.perf_counter()
            scene = spatial.reconstruct(session, ReconstructionConfig(voxel_size_m=voxel), poses="ground_truth")
            seconds = time.perf_counter() - t0
            m = reconstruction_metrics(scene.mesh, reference).to_dict()
            out[f"{voxel * 100:g}cm"] = {"seconds_end_to_end": seconds, "triangles": len(scene.mesh.triangles), **m}
            if voxel == 0.01 and png:
                view = overview_pose(scene.mesh, scene.trajectory.T_world_body[0], margin=0.8)
                save_mesh_png(scene.mesh, png, view)
    return out


def worker(args: list[str]) -> None:
    kind = args[0]
    if kind == "speed":
        result = worker_speed(float(args[1]), int(args[2]))
    elif kind == "reconstruct":
        result = worker_reconstruct(args[1], float(args[2]), args[3] == "1")
    elif kind == "plain_rss":
        result = worker_plain_rss(args[1], float(args[2]))
    elif kind == "7scenes":
        result = worker_seven_scenes(args[1])
    else:
        raise SystemExit(f"unknown worker {kind}")
    print(json.dumps(result))


# -- main ------------------------------------------------------------------------------------------
def paired_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--png", default=str(ROOT / "outputs" / "reconstruction_7scenes.png"))
    ap.add_argument("--sim", help="use this simulated session instead of simulating the 5x5x3 m room")
    args = ap.parse_args()
    if not SEVEN_SCENES.is_dir():
        raise SystemExit(f"7-Scenes data not found at {SEVEN_SCENES}")
    result: dict = {}

    with tempfile.TemporaryDirectory(prefix="spatial-bench-recon-") as tmp:
        sim = args.sim
        if sim is None:
            from sensors.sim import SimConfig, simulate

            t0 = time.perf_counter()
            sim = str(simulate(SimConfig.create(preset="studio", seed=0, width_m=5, length_m=5, ceiling_m=3), Path(tmp) / "room.mcap"))
            print(f"simulated 5x5x3 m studio in {time.perf_counter() - t0:.0f} s: {sim}")

        r = run_worker("reconstruct", sim, "0.01", "1")
        m = r["metrics"]
        print(
            f"sim room, 1 cm, GT poses: {r['stats']['frames_fused']} frames in {r['seconds']:.1f} s, "
            f"{r['stats']['blocks']} blocks, peak RSS {r['peak_rss_gb']:.2f} GB\n"
            f"  vs GT mesh (visible part, {r['visible_fraction']:.0%} of its area): accuracy {m['accuracy_m'] * 100:.2f} cm, "
            f"completeness {m['completeness_m'] * 100:.2f} cm, F@1/2/5 cm {m['fscore_1cm']:.3f} / {m['fscore_2cm']:.3f} / {m['fscore_5cm']:.3f}"
            f"  (whole GT mesh: F@5 cm {r['metrics_unculled']['fscore_5cm']:.3f})"
        )
        result.update(
            fscore_5cm_sim=m["fscore_5cm"], fscore_2cm_sim=m["fscore_2cm"], fscore_1cm_sim=m["fscore_1cm"],
            accuracy_cm_sim=m["accuracy_m"] * 100, completeness_cm_sim=m["completeness_m"] * 100,
            peak_rss_gb_room_1cm=r["peak_rss_gb"], blocks_room_1cm=r["stats"]["blocks"],
        )
        p = run_worker("plain_rss", sim, "0.01")
        print(f"  plain Open3D loop (block_count=50000, 16³ blocks) on the same frames: peak RSS {p['peak_rss_gb']:.2f} GB")
        result["peak_rss_gb_open3d_loop_room_1cm"] = p["peak_rss_gb"]

    for voxel in (0.02, 0.01):
        runs = run_worker("speed", str(voxel), str(args.repeats))
        tag = f"{voxel * 100:g}cm"
        med = {k: statistics.median(v) for k, v in runs.items()}
        ratio = paired_ratio(runs["sdk"], runs["open3d"])
        print(
            f"7-Scenes integration at {tag} (640x480, {args.repeats} interleaved runs): SDK {med['sdk']:.1f} fps "
            f"(filtering on), plain Open3D loop {med['open3d']:.1f} fps, ratio {ratio:.2f}; "
            f"plain loop with the SDK's grid shape {med['open3d_same_grid']:.1f} fps "
            f"(ratio {paired_ratio(runs['sdk'], runs['open3d_same_grid']):.2f})\n"
            f"  runs: {json.dumps({k: [round(x, 1) for x in v] for k, v in runs.items()})}"
        )
        result.update({
            f"integrate_fps_{tag}": med["sdk"], f"open3d_loop_fps_{tag}": med["open3d"],
            f"ratio_vs_open3d_loop_{tag}": ratio,
            f"ratio_vs_open3d_same_grid_{tag}": paired_ratio(runs["sdk"], runs["open3d_same_grid"]),
        })
    result["ratio_vs_open3d_loop"] = min(result["ratio_vs_open3d_loop_2cm"], result["ratio_vs_open3d_loop_1cm"])

    s = run_worker("7scenes", args.png)
    for tag in ("1cm", "2cm"):
        q = s[tag]
        print(
            f"7-Scenes at {tag} vs a 5 mm reference ({s['reference_triangles']} triangles): "
            f"accuracy {q['accuracy_m'] * 100:.2f} cm, completeness {q['completeness_m'] * 100:.2f} cm, "
            f"F@1/2/5 cm {q['fscore_1cm']:.3f} / {q['fscore_2cm']:.3f} / {q['fscore_5cm']:.3f}, "
            f"{q['triangles']} triangles, end to end {q['seconds_end_to_end']:.1f} s"
        )
        for t in ("1cm", "2cm", "5cm"):
            result[f"fscore_{t}_7scenes_voxel{tag}"] = q[f"fscore_{t}"]
    if args.png:
        print(f"7-Scenes mesh picture: {args.png}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
