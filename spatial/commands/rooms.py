"""``spatial rooms``: walls, openings and objects of a capture, a scene or a mesh file, written as
RoomPlan-shaped JSON, USDZ and a floor plan."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from sensors.errors import MissingDependencyError
from sensors.formats._atomic import atomic_path
from spatial.cli import FormatOpt, _bar, app, err, out, parse_settings

from .reconstruct import versions


def _scene_or_geometry(path: Path, format: str | None):
    """(what to capture, the scene reconstructed here or None): a scene folder or mesh file as
    it is, anything else opened as a capture and reconstructed (tracked) with progress bars."""
    import sensors
    from spatial.reconstruction import reconstruct
    from spatial.rooms.source import GEOMETRY_SUFFIXES

    if (path.is_dir() and (path / "scene.json").is_file()) or path.suffix.lower() in GEOMETRY_SUFFIXES:
        return path, None
    with sensors.open(path, format=format) as session, _bar("tracking, then fusing", 2 * session.num_frames) as advance:
        scene = reconstruct(session, progress=advance)
    return scene, scene


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial rooms studio.mcap --out studio_room\n\n"
        "  spatial rooms outputs/reconstruct_7scenes/scene --out kitchen_room\n\n"
        "  spatial rooms scan.ply --up z --out room\n\n"
        "  spatial rooms arkit_export.obj --up y --scale 1 --out room --set classifier=geometric\n\n"
        "Any field of spatial.rooms.RoomOptions can be given with --set KEY=VALUE."
    ),
)
def rooms(
    path: Annotated[Path, typer.Argument(help="A capture (tracked and reconstructed first), a saved scene folder, or a .ply/.obj/.glb mesh or point cloud.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", show_default=False)],
    up: Annotated[str, typer.Option("--up", help="auto, z or y: which axis of a mesh file points up.")] = "auto",
    scale: Annotated[
        float | None, typer.Option("--scale", help="Multiply coordinates by this to get metres (0.001 for millimetres).", show_default=False)
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Another RoomOptions field as KEY=VALUE (repeatable).", show_default=False),
    ] = None,
    format: FormatOpt = None,
) -> None:
    """Find the room in a capture, scene or mesh: walls, floors, doors, windows, openings and objects (RoomPlan's 16 categories).

    Writes into OUT: room.json (RoomPlan CapturedRoom-shaped, SDK conventions in sensors.room), room.usdz (parametric boxes, y-up, metres), floorplan.svg and floorplan.png, config.json (options, figures, timings, versions) and, when it reconstructed a capture, scene/ (the scene with the room).
    """
    from spatial.rooms import RoomOptions, capture

    values: dict[str, object] = {"up": up, "scale": scale}
    values.update(parse_settings(settings))
    options = RoomOptions.create(**values)
    t0 = time.perf_counter()
    source, scene = _scene_or_geometry(path, format)
    t1 = time.perf_counter()
    with err.status("finding walls, openings and objects"):
        room = capture(source, options)
    t2 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [room.save_json(out_dir / "room.json")]
    try:
        written.append(room.export(out_dir / "room.usdz"))
    except MissingDependencyError as exc:
        err.print(f"warning: room.usdz not written: {exc}", style="yellow", markup=False, highlight=False)
    written += [room.floorplan(out_dir / "floorplan.svg"), room.floorplan(out_dir / "floorplan.png")]
    if scene is not None:
        written.append(scene.save(out_dir / "scene"))
    summary = _summary(room)
    resolved = {
        "command": "rooms",
        "input": str(path),
        "options": options.model_dump(),
        "room": summary,
        "warnings": list(room.warnings),
        "seconds": {"reconstruction": round(t1 - t0, 3), "rooms": round(t2 - t1, 3)},
        "versions": versions(),
    }
    with atomic_path(out_dir / "config.json") as tmp:
        tmp.write_text(json.dumps(resolved, indent=2) + "\n")
    written.append(out_dir / "config.json")
    objects = ", ".join(f"{n} {c}" for c, n in sorted(summary["objects"].items())) or "none"
    out.print(
        f"{summary['walls']} walls, {summary['doors']} doors, {summary['windows']} windows, {summary['openings']} openings, "
        f"floor {summary['floor_area_m2']:.1f} m² in {summary['floors']} room(s); objects: {objects} "
        f"(found in {t2 - t1:.1f} s); wrote {', '.join(p.name for p in written)} to {out_dir}",
        highlight=False, markup=False,
    )
    for w in room.warnings:
        err.print(f"warning: {w}", style="yellow", highlight=False, markup=False)


def _summary(room) -> dict:
    from spatial.scene.shapes import polygon_area

    floors = room.of("floor")
    area = sum(polygon_area(f.polygon_m) if f.polygon_m else f.dimensions_m[0] * f.dimensions_m[1] for f in floors)
    return {
        "walls": len(room.of("wall")), "doors": len(room.of("door")), "windows": len(room.of("window")),
        "openings": len(room.of("opening")), "floors": len(floors), "floor_area_m2": round(float(area), 3),
        "objects": dict(Counter(e.category for e in room.objects)),
    }
