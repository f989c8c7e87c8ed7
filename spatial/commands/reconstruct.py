"""``spatial reconstruct``: TSDF fusion of a capture into mesh, cloud, scene folder and trajectory."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Annotated

import typer

import sensors
from sensors.formats._atomic import atomic_path
from spatial.cli import FormatOpt, PathArg, _bar, app, err, out, parse_settings

from .. import __version__


def _poses(session, choice: str, max_frames: int | None, tracking: dict):
    """The trajectory ``--poses`` asks for and where it came from; tracking fills ``tracking``
    (statistics, ATE against the ground truth when there is one)."""
    from sensors.errors import ConfigError, EmptySessionError
    from spatial.eval.trajectory import ate, read_tum
    from spatial.reconstruction.pipeline import camera_trajectory, has_ground_truth_poses, tracked_trajectory

    if choice == "gt":
        return camera_trajectory(session), "ground truth"
    if choice != "track":
        file = Path(choice)
        if not file.is_file():
            raise ConfigError(f"--poses must be track, gt or a TUM trajectory file; {choice!r} is none of them")
        return read_tum(file), str(file)
    from spatial.fusion import TrackerConfig

    if session.num_frames == 0:
        raise EmptySessionError("the session has no RGB-D frames to track", session.path)
    config = TrackerConfig.create(max_frames=max_frames)
    total = min(session.num_frames, max_frames) if max_frames is not None else session.num_frames
    with _bar("tracking", total) as advance:
        trajectory, st = tracked_trajectory(session, config, advance)
    tracking.update({k: st[k] for k in ("frames", "tracked", "lost", "fps", "loop_closures", "gravity_aligned")})
    line = f"tracked {st['tracked']}/{st['frames']} frames at {st['fps']:.1f} fps ({st['lost']} lost)"
    if has_ground_truth_poses(session) and len(trajectory) >= 3:
        tracking["ate_rmse_m"] = ate(camera_trajectory(session), trajectory).rmse_m
        line += f"; ATE against the ground truth {100 * tracking['ate_rmse_m']:.2f} cm"
    out.print(line, highlight=False)
    return trajectory, "tracked"


def versions() -> dict[str, str]:
    import numpy
    import open3d

    return {"spatial": __version__, "open3d": open3d.__version__, "numpy": numpy.__version__, "python": platform.python_version()}


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial reconstruct ../shared/data/7scenes --out kitchen\n\n"
        "  spatial reconstruct studio.mcap --out studio --voxel 0.02 --poses gt\n\n"
        "  spatial reconstruct capture.mcap --out big --set evict_distance_m=5 --set evict_mode=spill\n\n"
        "  spatial reconstruct capture.mcap --out o --poses my_track/trajectory.tum\n\n"
        "Any field of spatial.reconstruction.ReconstructionConfig can be given with --set KEY=VALUE."
    ),
)
def reconstruct(
    path: PathArg,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", show_default=False)],
    voxel: Annotated[float, typer.Option("--voxel", help="Voxel size in metres.")] = 0.01,
    depth_max: Annotated[float, typer.Option("--depth-max", help="Ignore depth beyond this many metres.")] = 4.0,
    every: Annotated[int, typer.Option("--every", min=1, help="Fuse every k-th frame.")] = 1,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop after this many frames.", show_default=False)
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another ReconstructionConfig field as KEY=VALUE (repeatable).", show_default=False),
    ] = None,
    poses: Annotated[
        str,
        typer.Option("--poses", help="track (the camera, with spatial.fusion), gt (the capture's ground truth) "
                     "or a TUM trajectory file of T_world_camera."),
    ] = "track",
    preview: Annotated[bool, typer.Option("--preview/--no-preview", help="Also render the mesh to mesh.png.")] = True,
    format: FormatOpt = None,
) -> None:
    """Track a capture's camera and fuse its RGB-D frames into a TSDF volume (or fuse at its ground-truth poses, or at poses from a file).

    Writes into OUT: mesh.ply (coloured triangle mesh), cloud.ply (points with normals), scene/ (the saved Scene: map, trajectory, intrinsics, keyframes), trajectory.tum (the camera poses used), config.json (resolved configuration, statistics and versions; with tracked poses also the tracking statistics and, when the capture has ground truth, the ATE) and mesh.png (a rendering; --no-preview skips it).
    """
    from spatial.reconstruction import ReconstructionConfig
    from spatial.reconstruction import reconstruct as run

    values = {"voxel_size_m": voxel, "depth_max_m": depth_max, "every": every, "max_frames": max_frames}
    values.update(parse_settings(settings))
    config = ReconstructionConfig.create(**values)
    t0 = time.perf_counter()
    tracking: dict = {}
    with sensors.open(path, format=format) as session:
        trajectory, poses_used = _poses(session, poses, config.max_frames, tracking)
        selected = -(-session.num_frames // config.every)
        total = min(selected, config.max_frames) if config.max_frames is not None else selected
        with _bar("fusing", total) as advance:
            scene = run(session, config, poses=trajectory, progress=advance)
        if poses_used == "tracked":  # fused at poses this command tracked: say so, as spatial.reconstruct does
            scene.metadata.update(poses="tracked", tracking=tracking)
        source_format = session.format
    elapsed = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if scene.mesh is not None and not scene.mesh.is_empty:
        written.append(scene.mesh.save_ply(out_dir / "mesh.ply"))
    if scene.cloud is not None and not scene.cloud.is_empty:
        written.append(scene.cloud.save_ply(out_dir / "cloud.ply"))
    written.append(scene.save(out_dir / "scene"))
    written.append(scene.save_trajectory_tum(out_dir / "trajectory.tum"))
    resolved = {
        "command": "reconstruct",
        "input": str(path),
        "format": source_format,
        "config": config.model_dump(),
        "poses": poses_used,
        "stats": scene.metadata.get("stats", {}),
        **({"tracking": tracking} if tracking else {}),
        "seconds": round(elapsed, 3),
        "versions": versions(),
    }
    with atomic_path(out_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(resolved, indent=2) + "\n")
    written.append(out_dir / "config.json")
    if preview and scene.mesh is not None and not scene.mesh.is_empty:
        from spatial.viz.mesh_render import overview_pose, save_mesh_png

        view = overview_pose(scene.mesh, scene.trajectory.T_world_body[0], margin=0.9)
        written.append(save_mesh_png(scene.mesh, out_dir / "mesh.png", view))
    stats = scene.metadata["stats"]
    skipped = stats["skipped_no_pose"] + stats["skipped_no_depth"]
    out.print(
        f"fused {stats['frames_fused']} of {stats['frames_read']} frames in {elapsed:.1f} s "
        f"({stats['frames_read'] / max(elapsed, 1e-9):.1f} frames/s)"
        + (f", skipped {stats['skipped_no_pose']} without pose and {stats['skipped_no_depth']} without depth" if skipped else "")
        + f": {len(scene.mesh.triangles) if scene.mesh else 0} triangles; wrote {', '.join(p.name for p in written)} to {out_dir}",
        highlight=False,
    )
    if (scene.mesh is None or scene.mesh.is_empty) and stats["frames_fused"] < config.weight_threshold:
        err.print(f"[yellow]no surface: a surface needs {config.weight_threshold:g} observations and only "
                  f"{stats['frames_fused']} frame(s) were fused; for very short captures use --set weight_threshold=1[/]")
