"""The Scene: a reconstruction's map, camera trajectory, intrinsics and keyframes in one object,
saved to and loaded from a folder.

Folder layout (``scene.json`` names every other file; arrays are ``.npy``, never pickles)::

    scene.json                       format name, version, intrinsics, metadata, file names
    trajectory_timestamps_ns.npy     (N,) int64
    trajectory_T_world_camera.npy    (N, 4, 4) float64
    mesh_*.npy, cloud_*.npy          vertices/triangles/colours/normals, points/normals/colours
    keyframes/poses.npy              (K, 4, 4) T_world_camera; keyframes/timestamps_ns.npy (K,)
    keyframes/NNNNNN.color.png       RGB; keyframes/NNNNNN.depth.png: uint16 millimetres
    room.json                        the room description, when there is one
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sensors.errors import FormatError, SpatialError
from sensors.formats._atomic import atomic_path
from sensors.formats._io import decode_color, decode_depth_raw, depth_to_metres, encode_color, read_bytes
from sensors.room import RoomDescription
from sensors.types import CameraIntrinsics, Trajectory

from .geometry import Mesh, PointCloud

FORMAT = "spatial-scene"
VERSION = 1
_MESH_FIELDS = ("vertices", "triangles", "vertex_colors", "vertex_normals")
_CLOUD_FIELDS = ("points", "normals", "colors")


@dataclass(eq=False)
class Keyframe:
    """A kept frame: colour (uint8 RGB) and depth (float32 metres) at ``intrinsics`` (often
    a downscaled copy of the camera's), seen from ``T_world_camera``."""

    timestamp_ns: int
    T_world_camera: np.ndarray
    intrinsics: CameraIntrinsics
    color: np.ndarray | None = None
    depth_m: np.ndarray | None = None


@dataclass(eq=False)
class Scene:
    """A reconstructed scene. ``trajectory``: camera poses (``T_world_camera``, body
    ``"camera"``) of the frames that were fused; ``intrinsics``: the colour camera's;
    ``mesh``/``cloud``: the map (world frame, metres); ``keyframes``: a few frames' images;
    ``room``: a :class:`sensors.room.RoomDescription` once room understanding ran;
    ``metadata``: JSON-serialisable facts about how the scene was made."""

    trajectory: Trajectory
    intrinsics: CameraIntrinsics
    mesh: Mesh | None = None
    cloud: PointCloud | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    room: RoomDescription | None = None
    metadata: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)  # in memory only: derived data (grounding features)

    def __repr__(self) -> str:
        return (
            f"Scene({len(self.trajectory)} poses, mesh={self.mesh!r}, cloud={self.cloud!r}, "
            f"{len(self.keyframes)} keyframes)"
        )

    # -- folder I/O -------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the scene folder atomically (it appears only when complete) and return it."""
        folder = Path(folder)
        with atomic_path(folder, directory=True) as tmp:
            doc: dict = {
                "format": FORMAT,
                "version": VERSION,
                "intrinsics": self.intrinsics.to_dict(),
                "metadata": self.metadata,
                "trajectory": {
                    "body": self.trajectory.body,
                    "timestamps_ns": _save(tmp, "trajectory_timestamps_ns.npy", self.trajectory.timestamps_ns),
                    "T_world_camera": _save(tmp, "trajectory_T_world_camera.npy", self.trajectory.T_world_body),
                },
                "mesh": _save_fields(tmp, "mesh", self.mesh, _MESH_FIELDS),
                "cloud": _save_fields(tmp, "cloud", self.cloud, _CLOUD_FIELDS),
                "keyframes": _save_keyframes(tmp, self.keyframes),
                "room": None,
            }
            if self.room is not None:
                self.room.save_json(tmp / "room.json")
                doc["room"] = "room.json"
            (tmp / "scene.json").write_text(json.dumps(doc, indent=1, default=_json_default))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Scene:
        """Read a folder written by :meth:`save`; a missing or corrupt file raises
        :class:`FormatError` naming it."""
        folder = Path(folder)
        index = folder / "scene.json"
        if not folder.is_dir():
            raise FormatError("scene folder does not exist", folder)
        try:
            doc = json.loads(index.read_text())
        except FileNotFoundError:
            raise FormatError("not a scene folder: scene.json is missing", index) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FormatError(f"scene index is not valid JSON ({exc})", index) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise FormatError(f"not a scene index (format is not '{FORMAT}')", index)
        if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
            raise FormatError(f"scene format version {doc.get('version')!r} is not one this SDK reads (<= {VERSION})", index)
        try:
            intrinsics = CameraIntrinsics.from_dict(doc["intrinsics"])
            t = doc["trajectory"]
            ts = _load(folder, t["timestamps_ns"])
            try:
                trajectory = Trajectory(ts, _load(folder, t["T_world_camera"]), body=t.get("body", "camera"))
            except SpatialError as exc:
                raise FormatError(exc.problem, folder / t["T_world_camera"]) from None
            mesh = _load_fields(folder, doc.get("mesh"), Mesh)
            cloud = _load_fields(folder, doc.get("cloud"), PointCloud)
            keyframes = _load_keyframes(folder, doc.get("keyframes"))
        except (KeyError, TypeError) as exc:
            raise FormatError(f"scene index is missing or has a malformed entry: {exc}", index) from None
        room = RoomDescription.load_json(folder / doc["room"]) if doc.get("room") else None
        return cls(trajectory, intrinsics, mesh, cloud, keyframes, room, doc.get("metadata") or {})

    # -- exports ----------------------------------------------------------------------------------
    def export(self, path: str | Path) -> Path:
        """Write the map as ``.ply``/``.obj``/``.glb`` (trimesh) or ``.usdz`` (usd-core); see
        :mod:`spatial.scene.export` for the conventions of each."""
        from .export import export_geometry

        return export_geometry(self.mesh, self.cloud, path)

    def query(self, text: str, top_k: int = 5, options=None) -> list:
        """Open-vocabulary query over this scene's room ("the chair nearest the door", "somewhere
        to sit"): :class:`spatial.grounding.QueryHit` list, best first. Runs room understanding
        first when :attr:`room` is ``None`` (and keeps the result there); the scene graph is built
        once per ``options`` (:class:`spatial.grounding.GroundingOptions`) and cached.

        The one call from ``scene`` up into a stage (DESIGN.md's user view, ``scene.query``): the
        import is deferred so ``spatial.scene`` does not depend on the grounding layer."""
        from ..grounding import GroundingOptions, build_graph

        options = options or GroundingOptions()
        if self.room is None:
            from ..rooms import capture

            self.room = capture(self)
        key = ("grounding_graph", options.model_dump_json(), id(self.room))
        if key not in self.cache:
            self.cache[key] = build_graph(self.room, self, options=options)
        return self.cache[key].query(text, top_k)

    def save_trajectory_tum(self, path: str | Path) -> Path:
        """Camera poses as a TUM trajectory (``timestamp tx ty tz qx qy qz qw``, seconds)."""
        from ..eval.trajectory import write_tum

        return write_tum(self.trajectory, path)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (np.ndarray, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def _save(folder: Path, name: str, a: np.ndarray) -> str:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    np.save(folder / name, np.ascontiguousarray(a), allow_pickle=False)
    return name


def _load(folder: Path, name: str) -> np.ndarray:
    path = folder / name
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FormatError("array file is missing", path) from None
    except (ValueError, EOFError, OSError) as exc:
        raise FormatError(f"array file is corrupt or truncated ({exc})", path) from None


def _save_fields(folder: Path, prefix: str, geometry, fields: tuple[str, ...]) -> dict | None:
    if geometry is None:
        return None
    return {f: _save(folder, f"{prefix}_{f}.npy", a) for f in fields if (a := getattr(geometry, f)) is not None}


def _load_fields(folder: Path, entry: dict | None, cls):
    if entry is None:
        return None
    arrays = {f: _load(folder, name) for f, name in entry.items()}
    n = len(next(iter(arrays.values())))
    for f, a in arrays.items():
        per_point = f != "triangles"
        if a.ndim != 2 or a.shape[1] != 3 or (per_point and len(a) != n):
            want = f"({n if per_point else 'M'}, 3)"
            raise FormatError(f"{f} array has shape {a.shape}, expected {want}", folder / entry[f])
    try:
        return cls(**arrays)
    except FormatError as exc:  # what is left to fail: triangle indices out of range
        raise FormatError(exc.problem, folder / entry.get("triangles", next(iter(entry.values())))) from None


def _save_keyframes(folder: Path, keyframes: list[Keyframe]) -> dict | None:
    if not keyframes:
        return None
    items = []
    for k, kf in enumerate(keyframes):
        item: dict = {"intrinsics": kf.intrinsics.to_dict()}
        if kf.color is not None:
            item["color"] = f"keyframes/{k:06d}.color.png"
            _write_png(folder / item["color"], encode_color(kf.color, "png"))
        if kf.depth_m is not None:
            item["depth"] = f"keyframes/{k:06d}.depth.png"
            mm = np.clip(np.rint(kf.depth_m.astype(np.float64) * 1000.0), 0, 65534).astype(np.uint16)
            ok, buf = cv2.imencode(".png", mm)
            if not ok:
                raise FormatError("could not encode keyframe depth as PNG", folder / item["depth"])
            _write_png(folder / item["depth"], buf.tobytes())
        items.append(item)
    return {
        "timestamps_ns": _save(folder, "keyframes/timestamps_ns.npy", np.array([k.timestamp_ns for k in keyframes], np.int64)),
        "T_world_camera": _save(folder, "keyframes/poses.npy", np.stack([k.T_world_camera for k in keyframes])),
        "items": items,
    }


def _write_png(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _load_keyframes(folder: Path, entry: dict | None) -> list[Keyframe]:
    if not entry:
        return []
    ts = _load(folder, entry["timestamps_ns"])
    poses = _load(folder, entry["T_world_camera"])
    items = entry["items"]
    if len(ts) != len(items) or poses.shape != (len(items), 4, 4):
        raise FormatError(
            f"{len(items)} keyframes listed but {len(ts)} timestamps and poses of shape {poses.shape}",
            folder / entry["T_world_camera"],
        )
    out = []
    for t, T, item in zip(ts, poses, items):
        color = depth = None
        if "color" in item:
            p = folder / item["color"]
            color = decode_color(read_bytes(p), p)
        if "depth" in item:
            p = folder / item["depth"]
            depth = depth_to_metres(decode_depth_raw(read_bytes(p), p), 1000.0, invalid=())
        out.append(Keyframe(int(t), T, CameraIntrinsics.from_dict(item["intrinsics"]), color, depth))
    return out
