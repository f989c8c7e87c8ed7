"""Plain-array geometry: triangle meshes and point clouds in metres, with converters.

Arrays are numpy (``float32`` positions and normals, ``uint8`` RGB colours, ``int32`` triangle
indices) so a mesh can go to Open3D, trimesh or a file without anyone depending on the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensors.errors import FormatError


def _as(a, dtype, name: str, n: int | None = None, cols: int = 3) -> np.ndarray | None:
    if a is None:
        return None
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != 2 or a.shape[1] != cols or (n is not None and len(a) != n):
        want = f"({n if n is not None else 'N'}, {cols})"
        raise FormatError(f"{name} must have shape {want}, got {a.shape}")
    return a


def _colors(c) -> np.ndarray | None:
    """uint8 RGB from uint8 or [0, 1] float colours (RGBA is cut to RGB)."""
    if c is None:
        return None
    c = np.asarray(c)
    if c.ndim == 2 and c.shape[1] == 4:
        c = c[:, :3]
    if np.issubdtype(c.dtype, np.floating):
        c = np.clip(np.round(c * 255.0), 0, 255)
    return c.astype(np.uint8)


@dataclass(eq=False)
class Mesh:
    """Triangle mesh, world frame, metres. ``vertex_colors`` RGB uint8, ``vertex_normals`` unit."""

    vertices: np.ndarray
    triangles: np.ndarray
    vertex_colors: np.ndarray | None = None
    vertex_normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.vertices = _as(self.vertices, np.float32, "mesh vertices")
        n = len(self.vertices)
        self.triangles = _as(self.triangles, np.int32, "mesh triangles")
        if len(self.triangles) and (self.triangles.min() < 0 or self.triangles.max() >= n):
            raise FormatError(f"mesh triangles index vertices outside 0..{n - 1}")
        self.vertex_colors = _as(_colors(self.vertex_colors), np.uint8, "mesh vertex colours", n)
        self.vertex_normals = _as(self.vertex_normals, np.float32, "mesh vertex normals", n)

    @classmethod
    def empty(cls) -> Mesh:
        return cls(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32))

    def __len__(self) -> int:
        return len(self.triangles)

    def __repr__(self) -> str:
        return f"Mesh({len(self.vertices)} vertices, {len(self.triangles)} triangles)"

    @property
    def is_empty(self) -> bool:
        return len(self.triangles) == 0

    @property
    def area_m2(self) -> float:
        v = self.vertices.astype(np.float64)[self.triangles]
        return float(0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1).sum())

    @property
    def bounds_m(self) -> np.ndarray:
        """(2, 3) min and max corner (zeros when empty)."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)]) if len(self.vertices) else np.zeros((2, 3))

    def transformed(self, T: np.ndarray) -> Mesh:
        """This mesh mapped by the 4x4 rigid transform ``T``."""
        R, t = np.asarray(T)[:3, :3], np.asarray(T)[:3, 3]
        n = self.vertex_normals @ R.T if self.vertex_normals is not None else None
        return Mesh(self.vertices @ R.T + t, self.triangles, self.vertex_colors, n)

    # -- converters -----------------------------------------------------------------------
    def to_open3d(self):
        """An ``open3d.t.geometry.TriangleMesh`` (colours as float [0, 1], as Open3D expects)."""
        import open3d as o3d

        m = o3d.t.geometry.TriangleMesh()
        m.vertex.positions = o3d.core.Tensor(self.vertices)
        m.triangle.indices = o3d.core.Tensor(self.triangles)
        if self.vertex_colors is not None:
            m.vertex.colors = o3d.core.Tensor(self.vertex_colors.astype(np.float32) / 255.0)
        if self.vertex_normals is not None:
            m.vertex.normals = o3d.core.Tensor(self.vertex_normals)
        return m

    @classmethod
    def from_open3d(cls, m) -> Mesh:
        """From an Open3D tensor or legacy triangle mesh."""
        if hasattr(m, "vertex"):  # tensor API
            get = lambda attrs, k: attrs[k].numpy() if k in attrs else None  # noqa: E731
            return cls(get(m.vertex, "positions"), get(m.triangle, "indices"), get(m.vertex, "colors"), get(m.vertex, "normals"))
        colors = np.asarray(m.vertex_colors) if m.has_vertex_colors() else None
        normals = np.asarray(m.vertex_normals) if m.has_vertex_normals() else None
        return cls(np.asarray(m.vertices), np.asarray(m.triangles), colors, normals)

    def to_trimesh(self):
        import trimesh

        return trimesh.Trimesh(
            self.vertices, self.triangles, vertex_colors=self.vertex_colors, vertex_normals=self.vertex_normals,
            process=False,
        )

    @classmethod
    def from_trimesh(cls, m) -> Mesh:
        colors = m.visual.vertex_colors if getattr(m.visual, "kind", None) == "vertex" else None
        normals = m.vertex_normals if "vertex_normals" in m._cache else None
        return cls(m.vertices, m.faces, colors, normals)

    def save_ply(self, path: str | Path) -> Path:
        """Binary PLY with colours and normals (written atomically)."""
        from sensors.formats._atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_bytes(self.to_trimesh().export(file_type="ply"))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Mesh:
        """Read a mesh file trimesh understands (PLY, OBJ, GLB, …)."""
        import trimesh

        path = Path(path)
        try:
            m = trimesh.load(path, process=False)  # not force="mesh": it drops the file's normals
            if isinstance(m, trimesh.Scene):
                m = m.to_mesh()
        except FileNotFoundError:
            raise FormatError("mesh file is missing", path) from None
        except Exception as exc:  # trimesh raises many types on corrupt input
            raise FormatError(f"cannot read mesh: {exc}", path) from None
        if not isinstance(m, trimesh.Trimesh):
            raise FormatError(f"file holds a {type(m).__name__}, not a triangle mesh", path)
        return cls.from_trimesh(m)


@dataclass(eq=False)
class PointCloud:
    """Points, world frame, metres, with optional unit ``normals`` and RGB uint8 ``colors``."""

    points: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.points = _as(self.points, np.float32, "cloud points")
        n = len(self.points)
        self.normals = _as(self.normals, np.float32, "cloud normals", n)
        self.colors = _as(_colors(self.colors), np.uint8, "cloud colours", n)

    @classmethod
    def empty(cls) -> PointCloud:
        return cls(np.zeros((0, 3), np.float32))

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        return f"PointCloud({len(self.points)} points)"

    @property
    def is_empty(self) -> bool:
        return len(self.points) == 0

    def transformed(self, T: np.ndarray) -> PointCloud:
        R, t = np.asarray(T)[:3, :3], np.asarray(T)[:3, 3]
        n = self.normals @ R.T if self.normals is not None else None
        return PointCloud(self.points @ R.T + t, n, self.colors)

    def to_open3d(self):
        """An ``open3d.t.geometry.PointCloud`` (colours as float [0, 1])."""
        import open3d as o3d

        pc = o3d.t.geometry.PointCloud(o3d.core.Tensor(self.points))
        if self.normals is not None:
            pc.point.normals = o3d.core.Tensor(self.normals)
        if self.colors is not None:
            pc.point.colors = o3d.core.Tensor(self.colors.astype(np.float32) / 255.0)
        return pc

    @classmethod
    def from_open3d(cls, pc) -> PointCloud:
        if hasattr(pc, "point"):
            get = lambda k: pc.point[k].numpy() if k in pc.point else None  # noqa: E731
            return cls(get("positions"), get("normals"), get("colors"))
        return cls(
            np.asarray(pc.points),
            np.asarray(pc.normals) if pc.has_normals() else None,
            np.asarray(pc.colors) if pc.has_colors() else None,
        )

    def to_trimesh(self):
        import trimesh

        return trimesh.PointCloud(self.points, colors=self.colors)

    def save_ply(self, path: str | Path) -> Path:
        """Binary PLY with normals and colours (written atomically)."""
        import open3d as o3d

        from sensors.formats._atomic import atomic_path

        pc = o3d.t.geometry.PointCloud(o3d.core.Tensor(self.points))
        if self.normals is not None:
            pc.point.normals = o3d.core.Tensor(self.normals)
        if self.colors is not None:
            pc.point.colors = o3d.core.Tensor(self.colors)  # uint8 is written as uchar as is
        with atomic_path(path) as tmp:
            ply = tmp.with_suffix(".ply")  # Open3D picks the writer from the suffix
            if not o3d.t.io.write_point_cloud(str(ply), pc):
                raise FormatError("could not write point cloud", path)
            ply.replace(tmp)
        return Path(path)
