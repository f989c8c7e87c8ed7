"""The ``spatial`` command line. The only place in the SDK that prints or exits.

User errors (:class:`~sensors.errors.SpatialError`, and OS errors such as a read-only output
folder) print ``error: <message>`` to stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

import sensors
from sensors.errors import SpatialError
from sensors.session import SessionSummary

from . import __version__

EXIT_USER_ERROR = 2
out = Console(soft_wrap=True)  # resolves sys.stdout/sys.stderr at print time (works under CliRunner)
err = Console(stderr=True, soft_wrap=True)


class _Group(typer.core.TyperGroup):
    """Turns user errors raised by any command into a red one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (SpatialError, OSError) as exc:
            err.print(Text(f"error: {exc}", style="red"))
            raise typer.Exit(EXIT_USER_ERROR) from None


app = typer.Typer(
    cls=_Group,
    name="spatial",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PathArg = Annotated[Path, typer.Argument(help="Capture file or folder (MCAP, TUM, 7-Scenes, …).", show_default=False)]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", help=f"Input format; skips detection. One of: {', '.join(sensors.available_formats())}.", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"spatial {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Spatial perception SDK: inspect, convert and replay RGB-D + IMU captures."""


def parse_settings(settings: list[str] | None) -> dict[str, object]:
    """``--set KEY=VALUE`` strings → a dict (``none``/``null`` → ``None``; pydantic converts the rest)."""
    from sensors.errors import ConfigError

    values: dict[str, object] = {}
    for item in settings or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set takes KEY=VALUE, got '{item}'")
        value = value.strip()
        values[key.strip()] = None if value.lower() in ("none", "null") else value
    return values


@contextmanager
def _bar(description: str, total: int | None) -> Iterator:
    """A progress bar on stderr; yields ``advance(n)``. Shown complete on success (writers may
    report bulk items, such as IMU tables, in one go or not at all)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
        progress.update(task, completed=total)


# -- info ----------------------------------------------------------------------------------------
@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial info ../shared/data/7scenes\n\n"
        "  spatial info capture.mcap --json > summary.json\n\n"
        "  spatial info ./euroc/V1_01_easy --format euroc"
    ),
)
def info(
    path: PathArg,
    format: FormatOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Summarise a capture: streams, rates, sync, calibration and ground truth.

    Prints per-stream counts, rates, duration, dropped frames and clock jumps, colour↔depth pairing statistics, camera calibration and ground truth.
    """
    with sensors.open(path, format=format) as session:
        summary = session.summary()
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _print_summary(summary)


def _print_summary(s: SessionSummary) -> None:
    out.print(Text(f"{s.path}", style="bold"), Text(f"({s.format}), {s.duration_s:.2f} s"))
    streams = Table("stream", "count", "rate Hz", "duration s", "dropped", "jumps", title="streams", title_justify="left")
    for name, st in s.sync.streams.items():
        streams.add_row(name, str(st.count), f"{st.rate_hz:.2f}", f"{st.duration_s:.2f}", str(st.dropped), str(st.jumps))
    out.print(streams)

    details = Table("", "", show_header=False, box=None)
    sync = s.sync
    if sync.rgbd_pairs is not None:
        details.add_row(
            "colour↔depth",
            f"{sync.rgbd_pairs} pairs, unmatched colour {sync.rgbd_unmatched_color}, depth {sync.rgbd_unmatched_depth}, "
            f"gap mean {sync.rgbd_mean_gap_ms:.2f} ms max {sync.rgbd_max_gap_ms:.2f} ms",
        )
    c = s.calibration
    for label, K in (("colour camera", c.color), ("depth camera", c.depth)):
        if K is not None:
            dist = f", {K.distortion_model} distortion" if K.has_distortion else ""
            details.add_row(label, f"{K.width}x{K.height} fx={K.fx:.2f} fy={K.fy:.2f} cx={K.cx:.2f} cy={K.cy:.2f}{dist}")
    details.add_row("depth scale", f"{c.depth_scale:g} units/m")
    if c.T_imu_camera is not None:
        details.add_row("IMU", f"T_imu_camera given, time offset {c.time_offset_ns} ns")
    gt = f"{s.ground_truth_poses} poses ({s.ground_truth_body})" if s.ground_truth_poses else "none"
    details.add_row("ground truth", gt)
    out.print(details)


# -- convert ------------------------------------------------------------------------------------
@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial convert ../shared/data/7scenes kitchen.mcap\n\n"
        "  spatial convert capture.mcap capture_tum --to tum\n\n"
        "  spatial convert ./scan --format 7scenes scan.mcap"
    ),
)
def convert(
    src: Annotated[Path, typer.Argument(help="Input capture file or folder.", show_default=False)],
    dst: Annotated[Path, typer.Argument(help="Output: an .mcap file, or a folder with --to tum.", show_default=False)],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Output format: mcap or tum (default: from the output suffix).", show_default=False),
    ] = None,
    format: FormatOpt = None,
) -> None:
    """Convert a capture to MCAP or TUM RGB-D.

    The output appears only when complete; the input is never modified.
    """
    from sensors.convert import output_format, writer_for

    output_format(dst, to)  # a bad output fails before the input is read
    t0 = time.perf_counter()
    with sensors.open(src, format=format) as session:
        write = writer_for(session, dst, to)
        ts = session.timestamps()
        frames, imu = len(ts.get("rgbd", ())), len(ts.get("imu", ()))
        with _bar("converting", frames + imu) as advance:
            written = write(session, dst, progress=advance)
    out.print(
        f"wrote {written} ({frames} frames, {imu} IMU samples) in {time.perf_counter() - t0:.1f} s", highlight=False
    )


# -- replay -------------------------------------------------------------------------------------
@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial replay ../shared/data/7scenes\n\n"
        "  spatial replay ../shared/data/7scenes --rrd kitchen.rrd --every 5\n\n"
        "  spatial replay ../shared/data/7scenes --sheet frames.png\n\n"
        "  spatial replay capture.mcap --realtime --speed 2 --max-frames 300"
    ),
)
def replay(
    path: PathArg,
    rrd: Annotated[
        Path | None,
        typer.Option("--rrd", help="Write a rerun recording (needs the viz extra).", show_default=False),
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime", help="Pace the replay at capture rate.")] = False,
    speed: Annotated[float, typer.Option("--speed", help="Speed factor for real-time pacing (implies --realtime).")] = 1.0,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop after this many RGB-D frames.", show_default=False)
    ] = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Use every k-th RGB-D frame.")] = 1,
    sheet: Annotated[
        Path | None,
        typer.Option("--sheet", help="Also write a PNG contact sheet of 8 frames spread over the capture.", show_default=False),
    ] = None,
    format: FormatOpt = None,
) -> None:
    """Replay a capture in timestamp order, optionally into a rerun .rrd file.

    Frames are decoded ahead on worker threads. With --rrd the recording holds colour and depth images, the camera frustum moving along ground truth, the ground-truth path and IMU plots (open it with `rerun FILE.rrd`).
    """
    realtime = realtime or speed != 1.0
    t0 = time.perf_counter()
    with sensors.open(path, format=format) as session:
        selected = -(-session.num_frames // every)
        total = min(selected, max_frames) if max_frames is not None else selected
        if rrd is not None:
            from .viz import log_session

            with _bar("logging", total) as advance:
                log_session(session, rrd, max_frames, every, advance, realtime=realtime, speed=speed)
            imu = " and IMU" if len(session.timestamps().get("imu", ())) else ""
            done = f"logged {total} frames{imu} to {rrd}"
        else:
            with _bar("replaying", total) as advance:
                frames, imu_samples = _replay(session, max_frames, every, advance, realtime=realtime, speed=speed)
            done = f"replayed {frames} frames" + (f" and {imu_samples} IMU samples" if imu_samples else "")
        if sheet is not None:
            from .viz.contact_sheet import contact_sheet, save_png

            picked = list(session.frames(every=max(1, session.num_frames // 8)))[:8]
            save_png(contact_sheet(picked), sheet)
            done += f", contact sheet {sheet}"
    elapsed = time.perf_counter() - t0
    out.print(f"{done} in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.1f} frames/s)", highlight=False)


def _replay(session: sensors.Session, max_frames: int | None, every: int, advance, **options) -> tuple[int, int]:
    """Iterate the session; returns (frames used, IMU samples seen)."""
    frames = imu = 0
    for item in session.replay(every=every, **options):
        if isinstance(item, sensors.ImuSample):
            imu += 1
            continue
        frames += 1
        advance(1)
        if max_frames is not None and frames >= max_frames:
            break
    return frames, imu


# -- sim ----------------------------------------------------------------------------------------
@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial sim --preset studio --seed 0 --out studio.mcap\n\n"
        "  spatial sim --preset apartment --seed 3 --duration 20 --out apt.mcap\n\n"
        "  spatial sim --preset kitchen --out k.mcap --set imu_clock_offset_ns=5000000 --set offset_in_calibration=false\n\n"
        "Any field of sensors.sim.SimConfig can be given with --set KEY=VALUE."
    ),
)
def sim(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Output recording (.mcap); ground truth is written beside it.", show_default=False)],
    preset: Annotated[str, typer.Option("--preset", help="studio, kitchen, bedroom or apartment.")] = "studio",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")] = 0,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Seconds of scanning (default: one tour facing every wall).", show_default=False)
    ] = None,
    settings: Annotated[
        list[str] | None, typer.Option("--set", help="Another SimConfig field as KEY=VALUE (repeatable).", show_default=False)
    ] = None,
) -> None:
    """Simulate a hand-held RGB-D + IMU scan of a synthetic room, with full ground truth.

    Writes OUT (the SDK's MCAP recording: 640x480 colour and depth at 30 fps, 200 Hz IMU, ground-truth camera poses) and, beside it, OUT's stem + .mesh.ply (room mesh) and + .room.json (walls, doors, windows, openings, objects in RoomPlan's JSON shape).
    """
    from sensors.sim import SimConfig, plan, simulate

    values: dict[str, object] = {"preset": preset, "seed": seed, "duration_s": duration}
    values.update(parse_settings(settings))
    config = SimConfig.create(**values)
    t0 = time.perf_counter()
    planned = plan(config)
    total = int(planned[1].duration_s * config.fps) + 1
    with _bar("rendering", total) as advance:
        simulate(config, out_path, advance, planned)
    with sensors.open(out_path) as session:
        frames, imu = session.num_frames, len(session.timestamps().get("imu", ()))
    out.print(
        f"wrote {out_path} ({frames} frames, {imu} IMU samples, {planned[1].duration_s:.1f} s of {config.preset}) "
        f"and its ground truth in {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )


# commands that live in their own modules register themselves on ``app`` when imported
from .commands import ask as _ask  # noqa: E402, F401
from .commands import hands as _hands  # noqa: E402, F401
from .commands import query as _query  # noqa: E402, F401
from .commands import reconstruct as _reconstruct  # noqa: E402, F401
from .commands import rooms as _rooms  # noqa: E402, F401
from .commands import track as _track  # noqa: E402, F401


def main() -> None:
    """Console-script entry point (``spatial``)."""
    app(prog_name="spatial")


if __name__ == "__main__":
    main()
