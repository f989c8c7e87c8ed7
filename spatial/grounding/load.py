"""What ``spatial query`` and ``spatial ask`` read: a scene folder, an output folder of
``spatial rooms``, a mesh or point-cloud file, or any capture ``spatial rooms`` accepts, turned
into a scene graph (running room understanding where the input has no room yet)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from sensors.errors import FormatError
from sensors.room import RoomDescription

from .graph import SceneGraph, build_graph
from .options import GroundingOptions

log = logging.getLogger(__name__)


def load_graph(path: str | Path, options: GroundingOptions | None = None, room_options=None,
               progress: Callable[[int], None] | None = None) -> SceneGraph:
    """The scene graph of ``path``:

    * a scene folder (``scene.json``): its room, or room understanding run on it;
    * a ``spatial rooms`` output folder (``room.json``): that room, coloured from its ``scene/``
      or from the scene folder or mesh its ``config.json`` names as input (when still there);
    * a ``.ply``/``.obj``/``.glb``/``.off``/``.stl`` mesh or cloud: room understanding on it;
    * anything else: opened as a capture, tracked, reconstructed (``progress`` is called with
      frame counts), then room understanding.
    """
    from ..rooms import RoomOptions, capture
    from ..rooms.source import GEOMETRY_SUFFIXES, load_geometry
    from ..scene import Scene

    path = Path(path)
    room_options = room_options or RoomOptions()
    if path.is_dir() and (path / "scene.json").is_file():
        scene = Scene.load(path)
        room = scene.room if scene.room is not None else capture(scene, room_options)
        return build_graph(room, scene, options=options)
    if path.is_dir() and (path / "room.json").is_file():
        room = RoomDescription.load_json(path / "room.json")
        if (path / "scene" / "scene.json").is_file():
            return build_graph(room, Scene.load(path / "scene"), options=options)
        source = _rooms_input(path / "config.json")
        if source is not None and source.is_dir():
            return build_graph(room, Scene.load(source), options=options)
        geometry = load_geometry(source) if source is not None else None
        return build_graph(room, geometry=geometry, options=options)
    if path.is_dir() and not any(path.iterdir()):
        raise FormatError("folder is empty: expected a scene folder, a 'spatial rooms' output or a capture", path)
    if path.suffix.lower() in GEOMETRY_SUFFIXES:
        geometry = load_geometry(path)
        return build_graph(capture(path, room_options), geometry=geometry, options=options)
    import sensors

    from ..reconstruction import reconstruct

    with sensors.open(path) as session:
        scene = reconstruct(session, progress=progress)
    return build_graph(capture(scene, room_options), scene, options=options)


def _rooms_input(config: Path) -> Path | None:
    """The scene folder or mesh file a ``spatial rooms`` run read (its ``config.json``'s input,
    as that run was given it), if it is still there; else ``None`` with a logged warning (the
    graph then has no colours)."""
    from ..rooms.source import GEOMETRY_SUFFIXES

    try:
        src = Path(json.loads(config.read_text())["input"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (src / "scene.json").is_file() or (src.suffix.lower() in GEOMETRY_SUFFIXES and src.is_file()):
        return src
    log.warning("%s: the input %s is not there any more; the scene graph has no colours", config, src)
    return None
