"""Simulator rendering speed: RGB-D frames/s at 640x480 (raycast + shading + sensor noise).

Baseline, measured in the same run on the same poses: a plain Open3D ``RaycastingScene.cast_rays``
of every pixel (depth only, no shading or noise). Also times the whole ``simulate`` pipeline
(render + JPEG + MCAP writing). Last line: one JSON object of the figures.

    python benchmarks/sim_render.py [--preset studio] [--frames 150]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import open3d as o3d

from sensors.sim import SimConfig, plan, simulate
from sensors.sim.render import Renderer


def plain_raycast(world, K, poses) -> float:
    verts, tris, _ = world.mesh_arrays()
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(verts.astype(np.float32)), o3d.core.Tensor(tris.astype(np.uint32)))
    u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
    dirs = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1).reshape(-1, 3)
    t0 = time.perf_counter()
    for T in poses:
        d = dirs @ T[:3, :3].T
        rays = np.hstack([np.broadcast_to(T[:3, 3], d.shape), d]).astype(np.float32)
        scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    return len(poses) / (time.perf_counter() - t0)


def sdk_render(renderer, poses, times) -> float:
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for T, t in zip(poses, times):
        renderer.render(T, rng, t)
    return len(poses) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="studio")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    config = SimConfig.create(preset=args.preset, seed=0)
    world, traj = plan(config)
    K = config.intrinsics()
    times = np.linspace(0.0, traj.duration_s, args.frames)
    poses = traj.pose(times)
    renderer = Renderer(world, K, seed=0)
    renderer.render(poses[0], np.random.default_rng(0), 0.0)  # textures and caches built outside the timing
    ours, base = [], []
    for r in range(args.repeats):
        ours.append(sdk_render(renderer, poses, times))
        base.append(plain_raycast(world, K, poses))
        print(f"repeat {r}: sdk render {ours[-1]:.1f} fps, plain open3d raycast {base[-1]:.1f} fps")
    render_fps, base_fps = float(np.median(ours)), float(np.median(base))

    with tempfile.TemporaryDirectory() as tmp:
        short = SimConfig.create(preset=args.preset, seed=0, duration_s=5.0)
        t0 = time.perf_counter()
        simulate(short, Path(tmp) / "s.mcap")
        sim_fps = (int(5.0 * short.fps) + 1) / (time.perf_counter() - t0)
    print(f"render {render_fps:.1f} fps vs plain raycast {base_fps:.1f} fps; full simulate {sim_fps:.1f} fps")
    print(json.dumps({
        "preset": args.preset, "width": K.width, "height": K.height, "frames": args.frames,
        "render_fps": round(render_fps, 1),
        "plain_raycast_fps": round(base_fps, 1),
        "render_ratio_vs_plain_raycast": round(render_fps / base_fps, 2),
        "simulate_fps_incl_encode_and_write": round(sim_fps, 1),
    }))


if __name__ == "__main__":
    main()
