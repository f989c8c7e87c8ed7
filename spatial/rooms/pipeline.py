"""``capture``: a scene, session or mesh file in, a :class:`~sensors.room.RoomDescription` out.

The loop: read the input (:mod:`.source`), find up and the wall directions (:mod:`.gravity`),
find the stories (:mod:`.levels`), then per story the structure (:mod:`.structure`), openings
(:mod:`.openings`), objects (:mod:`.objects`) and what each room is (:mod:`.sections`), all in
a levelled working frame; the room is mapped back to the input's world frame at the end.

Frames: a z-up input (a tracked map, ScanNet, most scanners) gets its elements in its own frame,
so boxes overlay the mesh. A y-up input (``up="y"`` or found to be y-up) is read in the SDK's
z-up version of its frame (:func:`sensors.frames.points_arkit_to_sdk` of its coordinates): the
room's y-up exports (JSON, USDZ) then come out in the input's own coordinates.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sensors.frames import C_SDK_ARKIT
from sensors.room import RoomDescription, RoomElement, RoomSection

from . import gravity
from .classify import get_classifier
from .features import instance_features, wall_lightness
from .levels import Level, find_levels
from .objects import find_instances
from .openings import View, find_openings
from .options import RoomOptions
from .sections import sections
from .source import RoomInput, load_input
from .structure import find_structure, opening_elements, structure_elements

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkingFrame:
    """``T_world_input`` (identity, or the y-up → z-up conversion) and ``T_work_world`` (level and
    Manhattan-aligned); ``notes`` say how up was found."""

    T_world_input: np.ndarray
    T_work_world: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def T_work_input(self) -> np.ndarray:
        return self.T_work_world @ self.T_world_input


def _rigid(R: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    return T


def working_frame(inp: RoomInput, options: RoomOptions) -> WorkingFrame:
    """Decide up (see :class:`RoomOptions`), level the floor, align the walls with x and y."""
    notes: list[str] = []
    T_world_input = np.eye(4)
    s = inp.surfels
    if options.up == "y":
        T_world_input = C_SDK_ARKIT.copy()
        up = np.array([0.0, 0.0, 1.0])
    elif options.up == "z" or inp.gravity_z:
        up = np.array([0.0, 0.0, 1.0])
    else:
        cam_up = None
        if inp.cameras is not None and len(inp.cameras):
            m = -inp.cameras[:, :3, 1].mean(0)  # OpenCV cameras: −y is up in the image
            cam_up = m / np.linalg.norm(m) if np.linalg.norm(m) > 0.3 else None
        est = gravity.estimate_up(s, cam_up)
        up = est.up
        if up[1] > np.cos(np.radians(15)):
            T_world_input = C_SDK_ARKIT.copy()
            up = C_SDK_ARKIT[:3, :3] @ up
            notes.append("the input is y-up (estimated from " + est.source + "); pass up='y' to say so")
        elif up[2] < np.cos(np.radians(15)):
            notes.append(f"up estimated as {np.round(up, 3).tolist()} in the input frame (from {est.source}): "
                         "boxes are tilted to match; pass up='z' or 'y' if that is wrong")
        if not est.confident:
            notes.append(f"the up axis is uncertain ({est.source}); pass up='z' or 'y'")
    s_world = s.transformed(T_world_input)
    up = gravity.refine_with_floor(s_world, up)
    R_level = gravity.rotation_between(up, np.array([0.0, 0.0, 1.0]))
    yaw = gravity.manhattan_yaw(s_world.transformed(_rigid(R_level)))
    c, si = np.cos(-yaw), np.sin(-yaw)
    R = np.array([[c, -si, 0.0], [si, c, 0.0], [0.0, 0.0, 1.0]]) @ R_level
    return WorkingFrame(T_world_input, _rigid(R), tuple(notes))


def _id_factory(inp: RoomInput) -> Callable[[str], str]:
    """Deterministic UUIDs: the same input gives the same identifiers, another input others."""
    digest = hashlib.sha1(np.ascontiguousarray(inp.surfels.xyz[:: max(len(inp.surfels) // 1000, 1)]).tobytes()).hexdigest()
    space = uuid.uuid5(uuid.NAMESPACE_URL, f"spatial-rooms:{digest}")
    counter = itertools.count(1)

    def new_id(kind: str) -> str:
        return str(uuid.uuid5(space, f"{kind}:{next(counter)}")).upper()

    return new_id


def capture(source, options: RoomOptions | None = None, progress: Callable[[int], None] | None = None) -> RoomDescription:
    """Walls, floors, openings and objects of ``source`` (a :class:`~spatial.scene.Scene`, a
    :class:`~sensors.session.Session` — tracked and reconstructed first —, a scene folder, a
    capture path, or a ``.ply``/``.obj``/``.glb`` mesh or cloud) in its world frame (see the
    module docstring), metres. A scene (given or reconstructed) gets the result as ``scene.room``.
    ``progress(1)`` is called per frame when a session is reconstructed first.

    What could not be found (no floor in view, walls that do not close a room, an uncertain up
    axis) is listed in ``room.warnings``; the result is then partial or empty, never invented.
    Raises :class:`~sensors.errors.SpatialError` for unreadable input, input without geometry, or
    geometry far too large to be a room in metres (see ``RoomOptions.scale``).
    """
    options = options or RoomOptions()
    t0 = time.perf_counter()
    classifier = get_classifier(options) if options.objects else None  # a bad backend fails before the work
    inp = load_input(source, options, progress)
    frame = working_frame(inp, options)
    warnings = list(frame.notes)
    s = inp.surfels.transformed(frame.T_work_input)
    cams = None if inp.cameras is None else np.einsum("ij,kjl->kil", frame.T_work_input, inp.cameras)
    new_id = _id_factory(inp)
    views = [View(frame.T_work_input @ kf.T_world_camera, kf.intrinsics, kf.depth_m)
             for kf in (inp.scene.keyframes if inp.scene is not None and options.scale in (None, 1.0) else [])
             if kf.depth_m is not None]
    elements: list[RoomElement] = []
    found_sections: list[RoomSection] = []
    levels = find_levels(s, options.min_floor_m2)
    if not levels:
        warnings.append(f"no floor in view (no level surface of {options.min_floor_m2:g} m² facing up): no room found")
    for story, level in enumerate(levels):
        story_elements, story_sections = _story(s, cams, views, level, story, options, classifier, new_id, warnings)
        elements += story_elements
        found_sections += story_sections
    T_world_work = np.linalg.inv(frame.T_work_world)
    room = RoomDescription(elements, new_id("room"), found_sections, warnings).transformed(T_world_work)
    for w in warnings:
        log.info("%s: %s", inp.name, w)  # also in room.warnings, which callers show
    log.info("%s: %d walls, %d floors, %d objects in %.1f s", inp.name, len(room.of("wall")), len(room.of("floor")),
             len(room.objects), time.perf_counter() - t0)
    if inp.scene is not None:
        inp.scene.room = room
    return room


def _story(s, cams, views, level: Level, story: int, options: RoomOptions, classifier, new_id, warnings: list[str],
           ) -> tuple[list[RoomElement], list[RoomSection]]:
    on = (s.xyz[:, 2] > level.floor_z - 0.1) & (s.xyz[:, 2] < level.top_z + 0.1)
    floor = on & (s.normals[:, 2] > 0.9) & (np.abs(s.xyz[:, 2] - level.floor_z) < 0.05)
    seeds, seed_m2 = s.xyz[floor, :2], s.area_m2[floor]
    if cams is not None:
        inside = (cams[:, 2, 3] > level.floor_z) & (cams[:, 2, 3] < level.top_z + 1.0)
        seeds = np.vstack([seeds, cams[inside, :2, 3]])
        seed_m2 = np.r_[seed_m2, np.full(int(inside.sum()), 0.05)]
    st = find_structure(s, level, seeds, seed_m2, options.wall_thickness_m)
    where = f"story {story}: " if story else ""
    if len(st.walls) < 3:
        warnings.append(f"{where}only {len(st.walls)} wall(s) found: no closed room")
    elif not st.rooms:
        warnings.append(f"{where}the walls found do not enclose the floor: no room outline")
    if level.ceiling_z is None:
        warnings.append(f"{where}no ceiling in view: wall heights are those seen ({level.height_m:.2f} m)")
    elements, wall_ids = structure_elements(st, new_id, story)
    if options.openings:
        elements += opening_elements(st, find_openings(st, s, views), wall_ids, new_id, story)
    objects = _objects(s, st, story, classifier, new_id) if classifier is not None else []
    return elements + objects, sections(st.rooms, objects, level.floor_z, story)


def _objects(s, st, story: int, classifier, new_id) -> list[RoomElement]:
    instances = find_instances(s, st)
    if not instances:
        return []
    white = wall_lightness(s, st.faces)
    feats = np.stack([instance_features(s, i.members, i.T_work_box, i.dims_m, st.level.floor_z, i.wall is not None, white)
                      for i in instances])
    out = []
    for inst, c in zip(instances, classifier.classify(feats)):
        conf = "high" if c.score >= 0.8 else "medium" if c.score >= 0.5 else "low"
        out.append(RoomElement(new_id("object"), c.category, inst.dims_m, inst.T_work_box, confidence=conf,
                               story=story, score=c.score))
    return out
