"""Offscreen pictures of meshes, by raycasting (Open3D ``RaycastingScene``): no display, no
OpenGL. Shading is Lambertian with a light at the camera, times the vertex colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensors.errors import EmptySessionError
from sensors.types import CameraIntrinsics

from ..scene.geometry import Mesh


def overview_pose(mesh: Mesh, T_hint: np.ndarray | None = None, fov_deg: float = 60.0, margin: float = 1.1) -> np.ndarray:
    """A camera pose (``T_world_camera``, OpenCV axes) that sees the whole mesh: oriented like
    ``T_hint`` (e.g. a pose of the capture; default: looking down −z of the world from above at
    an angle) and backed off from the centre of the mesh's bounds until they fit in the view."""
    lo, hi = mesh.bounds_m
    center, radius = (lo + hi) / 2, np.linalg.norm(hi - lo) / 2
    if T_hint is not None:
        R = np.asarray(T_hint, dtype=np.float64)[:3, :3]
    else:  # z-up world: look along +y tilted 45° down, x to the right
        fwd = np.array([0.0, np.sqrt(0.5), -np.sqrt(0.5)])
        right = np.array([1.0, 0.0, 0.0])
        R = np.stack([right, np.cross(fwd, right), fwd], axis=1)
    distance = margin * radius / np.sin(np.radians(fov_deg) / 2)
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = center - distance * R[:, 2]
    return T


def render_mesh(
    mesh: Mesh,
    T_world_camera: np.ndarray | None = None,
    width: int = 960,
    height: int = 720,
    fov_deg: float = 60.0,
    background: tuple[int, int, int] = (255, 255, 255),
    cull_backfaces: bool = True,
) -> np.ndarray:
    """Render ``mesh`` seen from ``T_world_camera`` (default: :func:`overview_pose`) as an
    HxWx3 uint8 RGB image with a horizontal field of view of ``fov_deg``. With
    ``cull_backfaces``, triangles facing away from the camera (by their vertex normals, else
    their winding) are left out, so a room seen from outside shows its inside, as a doll's house."""
    import open3d as o3d

    if mesh.is_empty:
        raise EmptySessionError("cannot render an empty mesh")
    T = overview_pose(mesh, fov_deg=fov_deg) if T_world_camera is None else np.asarray(T_world_camera, dtype=np.float64)
    f = width / 2 / np.tan(np.radians(fov_deg) / 2)
    K = CameraIntrinsics(f, f, (width - 1) / 2, (height - 1) / 2, width, height)
    triangles = mesh.triangles
    if cull_backfaces:
        corners = mesh.vertices[triangles]
        if mesh.vertex_normals is not None:
            normals = mesh.vertex_normals[triangles].sum(1)
        else:
            normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        front = np.flatnonzero((normals * (corners.mean(1) - T[:3, 3])).sum(1) < 0)
        triangles = triangles[front]
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(mesh.vertices), o3d.core.Tensor(triangles.astype(np.uint32)))
    u, v = np.meshgrid(np.arange(width), np.arange(height))
    d = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1).reshape(-1, 3) @ T[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rays = np.hstack([np.broadcast_to(T[:3, 3], d.shape), d]).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))
    tri = hit["primitive_ids"].numpy().astype(np.int64)
    ok = tri != o3d.t.geometry.RaycastingScene.INVALID_ID
    n = hit["primitive_normals"].numpy()
    shade = 0.25 + 0.75 * np.abs((n * d).sum(1))  # two-sided headlight
    if mesh.vertex_colors is not None:
        uv = hit["primitive_uvs"].numpy()
        w = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], 1)[ok]
        rgb = mesh.vertex_colors[triangles[tri[ok]]].astype(np.float32)  # (n, 3 corners, rgb)
        albedo = np.einsum("nc,ncr->nr", w, rgb)
    else:
        albedo = np.full((int(ok.sum()), 3), 200.0, np.float32)
    img = np.empty((len(rays), 3), np.uint8)
    img[:] = background
    img[ok] = np.clip(albedo * shade[ok, None], 0, 255).astype(np.uint8)
    return img.reshape(height, width, 3)


def save_mesh_png(mesh: Mesh, path: str | Path, T_world_camera: np.ndarray | None = None, **kw) -> Path:
    """Render ``mesh`` (see :func:`render_mesh`) and write it as a PNG."""
    from .contact_sheet import save_png

    return save_png(render_mesh(mesh, T_world_camera, **kw), path)
