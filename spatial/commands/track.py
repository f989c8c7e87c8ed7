"""``spatial track``: camera tracking (RGB-D odometry + IMU + loop closure) of a capture."""

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


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial track ../shared/data/7scenes --out kitchen_track\n\n"
        "  spatial track studio.mcap --out studio_track --imu on --plot --rrd studio_track.rrd\n\n"
        "  spatial track capture.mcap --out t --set voxel_size_m=0.02 --set loop_closure=false\n\n"
        "Any field of spatial.fusion.TrackerConfig can be given with --set KEY=VALUE."
    ),
)
def track(
    path: PathArg,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", show_default=False)],
    imu: Annotated[str, typer.Option("--imu", help="auto (use the IMU when present), on (require it) or off.")] = "auto",
    loop_closure: Annotated[bool, typer.Option("--loops/--no-loops", help="Detect and close loops.")] = True,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop after this many frames.", show_default=False)
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another TrackerConfig field as KEY=VALUE (repeatable).", show_default=False),
    ] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Also draw trajectory.png (needs the viz extra).")] = False,
    rrd: Annotated[
        Path | None,
        typer.Option("--rrd", help="Also write a rerun recording of the tracking (needs the viz extra).", show_default=False),
    ] = None,
    format: FormatOpt = None,
) -> None:
    """Track the camera through a capture without using its ground truth.

    Writes into OUT: trajectory.tum (T_world_camera of every tracked frame; lost frames are left out), tracking.jsonl (one line per frame: tracked or lost, by what, and why), config.json (resolved configuration and versions) and metrics.json (tracking statistics and, when the capture has ground-truth poses, ATE/RPE against them).
    """
    from spatial.eval.trajectory import evaluate, write_tum
    from spatial.eval.trajectory import plot as draw
    from spatial.fusion import TrackerConfig
    from spatial.fusion import track as run
    from spatial.reconstruction.pipeline import camera_trajectory, has_ground_truth_poses

    values: dict[str, object] = {"imu": imu, "loop_closure": loop_closure, "max_frames": max_frames}
    values.update(parse_settings(settings))
    config = TrackerConfig.create(**values)
    t0 = time.perf_counter()
    with sensors.open(path, format=format) as session:
        n = session.num_frames
        total = min(n, config.max_frames) if config.max_frames is not None else n
        with _bar("tracking", total) as advance:
            result = run(session, config, progress=advance)
        gt = camera_trajectory(session) if has_ground_truth_poses(session) else None
    elapsed = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tum(result.trajectory, out_dir / "trajectory.tum")
    with atomic_path(out_dir / "tracking.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(s.to_dict()) + "\n" for s in result.status))
    import numpy

    _write_json(out_dir / "config.json", {
        "command": "track", "input": str(path), "tracker": json.loads(config.model_dump_json()),
        "versions": {"spatial": __version__, "numpy": numpy.__version__, "python": platform.python_version()},
    })
    metrics: dict[str, object] = {"tracking": result.stats, "lost_frames": result.lost, "elapsed_s": elapsed}
    evaluation = None
    if gt is not None and len(result.trajectory) >= 3:
        evaluation = evaluate(gt, result.trajectory)
        metrics["ground_truth"] = evaluation
    _write_json(out_dir / "metrics.json", metrics)
    if rrd is not None:
        from spatial.viz.rerun_log import log_tracking

        log_tracking(result, rrd, gt)
    if plot and len(result.trajectory):
        draw(gt if evaluation is not None else None, result.trajectory, out_dir / "trajectory.png", title=Path(path).name)
    st = result.stats
    line = (f"tracked {st['tracked']}/{st['frames']} frames ({st['lost']} lost, {st['keyframes']} keyframes, "
            f"{st['loop_closures']} loop closures) at {st['fps']:.1f} fps")
    if evaluation is not None:
        line += f"; ATE {100 * evaluation['ate_rmse_m']:.2f} cm over {evaluation['matched_poses']} poses"
    out.print(line, highlight=False)
    out.print(f"wrote {out_dir}/", highlight=False)
