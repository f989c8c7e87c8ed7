"""``spatial hands``: hand tracking on a session, a video or a folder of images → ``hands.jsonl``."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Annotated

import typer

from sensors.errors import require
from sensors.formats._atomic import atomic_path
from spatial.cli import _bar, app, out

from .. import __version__


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial hands capture.mcap --out hands_out\n\n"
        "  spatial hands clip.mp4 --out clip_hands --rrd\n\n"
        "  spatial hands ../shared/data/hands/onehand10k --out stills\n\n"
        "Writes OUT/hands.jsonl (one JSON line per frame: timestamp_ns, image_size, flags, hands with "
        "landmarks_px, joints_camera_m, joints_world_m in metres, track_id, handedness, gestures), "
        "OUT/config.json and, with --rrd, OUT/recording.rrd."
    ),
)
def hands(
    path: Annotated[Path, typer.Argument(help="A capture (MCAP, TUM, 7-Scenes, …), a video file or a folder of images.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", show_default=False)],
    rrd: Annotated[bool, typer.Option("--rrd", help="Also write OUT/recording.rrd (needs the viz extra).")] = False,
    every: Annotated[int, typer.Option("--every", min=1, help="Use every k-th frame.")] = 1,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop after this many frames.", show_default=False)
    ] = None,
    num_hands: Annotated[int, typer.Option("--num-hands", min=1, max=8, help="Most hands per frame.")] = 2,
    model: Annotated[str, typer.Option("--model", help="Landmark model: full or lite.")] = "full",
    mirrored: Annotated[bool, typer.Option("--mirrored", help="Images are mirrored (selfie view): swap left and right.")] = False,
    no_filter: Annotated[bool, typer.Option("--no-filter", help="Do not smooth joints over time.")] = False,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Input capture format; skips detection.", show_default=False)
    ] = None,
) -> None:
    """Track hands: 21 joints per hand in pixels and metres (camera and map frames), identities,
    One Euro filtering and gestures (pinch, point, fist, open palm).

    Sessions and videos are tracked frame to frame; image folders are processed as independent stills (with a more thorough search). Depth, when the capture has it, gives metric joints; otherwise the hand size is assumed (flag "monocular"). Ground-truth poses, when present, place the hands in the map frame.
    """
    from spatial.hands.landmarker import HandLandmarkerOptions
    from spatial.hands.output import write_jsonl
    from spatial.hands.pipeline import track_frames
    from spatial.hands.sources import open_source
    from spatial.hands.tracking import TrackerOptions

    t0 = time.perf_counter()
    stats = {"frames": 0, "frames_with_hands": 0, "hands": 0}
    with open_source(path, format=format) as source:
        mode = "image" if source.kind == "images" else "video"
        lm = HandLandmarkerOptions(running_mode=mode, num_hands=num_hands, model=model, mirrored=mirrored)
        opts = TrackerOptions(filter=not no_filter)
        selected = None if source.count is None else -(-source.count // every)
        total = min(selected, max_frames) if selected is not None and max_frames is not None else selected or max_frames
        out_dir.mkdir(parents=True, exist_ok=True)
        logger = None
        if rrd:
            from spatial.hands.viz import RerunLogger

            logger = RerunLogger(out_dir / "recording.rrd")
        ok = False
        try:
            with _bar("tracking hands", total) as advance:

                def results():
                    for frame, T, result in track_frames(source, landmarker=lm, options=opts, every=every, max_frames=max_frames):
                        stats["frames"] += 1
                        stats["frames_with_hands"] += bool(len(result))
                        stats["hands"] += len(result)
                        if logger is not None:
                            logger.log(frame, result, T)
                        advance(1)
                        yield result

                write_jsonl(results(), out_dir / "hands.jsonl")
            ok = True
        finally:
            if logger is not None:
                logger.close(ok)
        config = {
            "command": "hands",
            "input": str(path),
            "input_kind": source.kind,
            "landmarker": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(lm).items() if k != "result_callback"},
            "tracker": {"filter": opts.filter, "min_cutoff_hz": opts.min_cutoff_hz, "beta": opts.beta, "d_cutoff_hz": opts.d_cutoff_hz},
            "every": every,
            "max_frames": max_frames,
            "versions": _versions(),
        }
    with atomic_path(out_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(config, indent=2))
    out.print(
        f"wrote {out_dir / 'hands.jsonl'} ({stats['frames']} frames, {stats['frames_with_hands']} with hands, "
        f"{stats['hands']} hands) in {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )


def _versions() -> dict[str, str]:
    import numpy

    mediapipe = require("mediapipe", "hands", "hand landmarks")
    return {"spatial": __version__, "mediapipe": mediapipe.__version__, "numpy": numpy.__version__, "python": platform.python_version()}
