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
from spatial.cli import FormatOpt, PathArg, _bar, app, out, parse_settings

from .. import __version__


def versions() -> dict[str, str]:
    import numpy
    import open3d

    return {"spatial": __version__, "open3d": open3d.__version__, "numpy": numpy.__version__, "python": platform.python_version()}


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial reconstruct ../shared/data/7scenes --out kitchen\n\n"
        "  spatial reconstruct studio.mcap --out studio --voxel 0.02\n\n"
        "  spatial reconstruct capture.mcap --out big --set evict_distance_m=5 --set evict_mode=spill\n\n"
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
    preview: Annotated[bool, typer.Option("--preview/--no-preview", help="Also render the mesh to mesh.png.")] = True,
    format: FormatOpt = None,
) -> None:
    """Fuse a capture's RGB-D frames at its ground-truth poses into a TSDF volume.

    Writes into OUT: mesh.ply (coloured triangle mesh), cloud.ply (points with normals), scene/ (the saved Scene: map, trajectory, intrinsics, keyframes), trajectory.tum (the camera poses used), config.json (resolved configuration, statistics and versions) and mesh.png (a rendering; --no-preview skips it).
    """
    from spatial.reconstruction import ReconstructionConfig
    from spatial.reconstruction import reconstruct as run

    values = {"voxel_size_m": voxel, "depth_max_m": depth_max, "every": every, "max_frames": max_frames}
    values.update(parse_settings(settings))
    config = ReconstructionConfig.create(**values)
    t0 = time.perf_counter()
    with sensors.open(path, format=format) as session:
        selected = -(-session.num_frames // config.every)
        total = min(selected, config.max_frames) if config.max_frames is not None else selected
        with _bar("fusing", total) as advance:
            scene = run(session, config, progress=advance)
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
        "stats": scene.metadata.get("stats", {}),
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
