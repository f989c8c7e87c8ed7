"""What room capture reads: a :class:`~spatial.scene.Scene`, a session (reconstructed first), a
scene folder, a capture path, or a mesh/cloud file from any scanner (``.ply``, ``.obj``,
``.glb``/``.gltf``, ``.off``, ``.stl``), turned into surfels in the input's own frame (metres),
with the camera poses when there are any."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError, EmptySessionError, FormatError

from ..scene import Scene
from ..scene.geometry import Mesh, PointCloud
from .options import RoomOptions
from .points import Surfels, cloud_surfels, mesh_surfels, pool

log = logging.getLogger(__name__)

GEOMETRY_SUFFIXES = (".ply", ".obj", ".glb", ".gltf", ".off", ".stl")


@dataclass(eq=False)
class RoomInput:
    """Surfels pooled to ``options.voxel_m`` in the input frame (metres, after ``scale``);
    ``cameras`` (K, 4, 4) ``T_input_camera`` (OpenCV axes) or ``None``; ``gravity_z`` whether the
    frame is known to be gravity-aligned with z up (tracking with an IMU); the ``scene`` when the
    input was (or became) one; ``name`` for messages."""

    surfels: Surfels
    cameras: np.ndarray | None
    gravity_z: bool
    scene: Scene | None
    name: str


def load_input(source, options: RoomOptions, progress: Callable[[int], None] | None = None) -> RoomInput:
    """Resolve ``source`` (Scene, Session, or a path) into a :class:`RoomInput`."""
    from sensors.session import Session

    if isinstance(source, Scene):
        return _from_scene(source, options, "scene")
    if isinstance(source, Session):
        return _from_scene(_reconstruct(source, progress), options, str(source.path))
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"spatial.rooms.capture takes a Scene, a Session or a path, got {type(source).__name__}")
    path = Path(source)
    if path.is_dir() and (path / "scene.json").is_file():
        return _from_scene(Scene.load(path), options, str(path))
    if path.suffix.lower() in GEOMETRY_SUFFIXES:
        return _from_geometry(load_geometry(path), options, path)
    import sensors

    with sensors.open(path) as session:
        return _from_scene(_reconstruct(session, progress), options, str(path))


def _reconstruct(session, progress) -> Scene:
    from ..reconstruction import reconstruct

    return reconstruct(session, progress=progress)


def load_geometry(path: Path) -> Mesh | PointCloud:
    """A mesh (with triangles) or point cloud read with trimesh; errors name the file."""
    import trimesh

    if not path.is_file():
        raise FormatError("mesh or point cloud file is missing", path)
    try:
        g = trimesh.load(path, process=False)
        if isinstance(g, trimesh.Scene):
            geoms = list(g.dump()) if g.geometry else []
            if not geoms:
                raise FormatError("file holds no geometry", path)
            g = trimesh.util.concatenate(geoms) if all(isinstance(x, trimesh.Trimesh) for x in geoms) else geoms[0]
    except FormatError:
        raise
    except Exception as exc:  # trimesh raises many types on corrupt input
        raise FormatError(f"cannot read mesh or point cloud: {exc}", path) from None
    try:
        if isinstance(g, trimesh.Trimesh) and len(g.faces):
            geometry = Mesh.from_trimesh(g)
        elif path.suffix.lower() == ".ply":  # Open3D keeps a PLY cloud's normals (trimesh drops them)
            geometry = _read_ply_cloud(path)
        elif isinstance(g, (trimesh.PointCloud, trimesh.Trimesh)):
            colors = getattr(getattr(g, "visual", None), "vertex_colors", None)
            if colors is None or len(colors) != len(g.vertices):
                colors = getattr(g, "colors", None)
            ok = colors is not None and len(colors) == len(g.vertices)
            geometry = PointCloud(np.asarray(g.vertices), colors=colors if ok else None)
        else:
            raise FormatError(f"file holds a {type(g).__name__}, not a mesh or point cloud", path)
    except FormatError as exc:
        raise FormatError(exc.problem, path) from None
    _check_finite(geometry.vertices if isinstance(geometry, Mesh) else geometry.points, path)
    return geometry


def _read_ply_cloud(path: Path) -> PointCloud:
    import open3d as o3d

    pc = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in pc.point or len(pc.point["positions"]) == 0:
        raise FormatError("PLY file holds no points", path)
    cloud = PointCloud.from_open3d(pc)
    if cloud.normals is not None and not np.isfinite(cloud.normals).all():
        cloud = PointCloud(cloud.points, None, cloud.colors)
    return cloud


def _check_finite(points: np.ndarray, path: Path) -> None:
    if len(points) and not np.isfinite(points).all():
        raise FormatError(f"{int((~np.isfinite(points).all(1)).sum())} points have NaN or infinite coordinates", path)


def _from_scene(scene: Scene, options: RoomOptions, name: str) -> RoomInput:
    geometry = scene.mesh if scene.mesh is not None and not scene.mesh.is_empty else scene.cloud
    if geometry is None or geometry.is_empty:
        raise EmptySessionError("the scene has no mesh or point cloud to find a room in", name if name != "scene" else None)
    cameras = scene.trajectory.T_world_body if len(scene.trajectory) else None
    tracking = scene.metadata.get("tracking") or {}
    gravity = bool(tracking.get("gravity_aligned")) and scene.metadata.get("poses") == "tracked"
    return RoomInput(_surfels(geometry, options, name, cameras), cameras, gravity, scene, name)


def _from_geometry(geometry: Mesh | PointCloud, options: RoomOptions, path: Path) -> RoomInput:
    if geometry.is_empty:
        raise EmptySessionError("the file holds no points", path)
    return RoomInput(_surfels(geometry, options, str(path), None), None, False, None, str(path))


def _surfels(geometry: Mesh | PointCloud, options: RoomOptions, name: str, cameras: np.ndarray | None) -> Surfels:
    scale = options.scale if options.scale is not None else 1.0
    pts = geometry.vertices if isinstance(geometry, Mesh) else geometry.points
    lo, hi = np.percentile(pts, [1, 99], axis=0) * scale
    extent = float((hi - lo).max())
    if options.scale is None and extent > options.max_extent_m:
        raise ConfigError(
            f"the geometry spans {extent:.0f} m, more than max_extent_m={options.max_extent_m:g}: if it is in "
            f"millimetres (or centimetres) give scale=0.001 (0.01); to process it as it is raise max_extent_m",
            None if name == "scene" else name,
        )
    if scale != 1.0:
        geometry = geometry.transformed(np.diag([scale, scale, scale, 1.0])) if isinstance(geometry, Mesh) else \
            PointCloud(geometry.points * scale, geometry.normals, geometry.colors)
    if isinstance(geometry, Mesh):
        return pool(mesh_surfels(geometry), options.voxel_m)
    toward = cameras[:, :3, 3] * scale if cameras is not None else None
    s = pool(cloud_surfels(geometry, options.voxel_m, toward), options.voxel_m)
    s.area_m2[:] = options.voxel_m**2  # a cloud's density says nothing of area: one voxel face each
    return s
