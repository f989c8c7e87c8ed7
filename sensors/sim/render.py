"""RGB-D rendering of a :class:`~sensors.sim.world.SimWorld` by ray casting (Open3D, CPU only).

Geometry: one ray per pixel centre (lens distortion honoured). Triangles are grouped into *faces*
(coplanar triangles of one part); a hit gives the face, hence the part, its material and tint.
To stay within a camera frame's time budget, rays are cast with Open3D/Embree for every second
pixel of every second row (plus the last row and column). A pixel between such anchors whose
anchors all hit one triangle, or one convex face, is intersected with that plane analytically:
its ray lies inside the cone of the anchor rays, so it hits the same convex polygon. Every other
pixel is cast. The result equals casting every pixel except where an object smaller than two
pixels slips between anchor rays; ``exact=True`` casts every pixel (and so does any camera with
lens distortion). Depth is z-depth along the optical axis (not ray length), in metres.

Colour: the material's albedo (:mod:`sensors.sim.textures`, evaluated at the world hit point) ×
tint, lit by an ambient term plus one point light under the ceiling of each room (Lambert's
cosine with a ``1 / (1 + (d / 2.5 m)²)`` distance falloff) and Blinn-Phong highlights on
ceramic, glass, metal and screens. The sensor models of :mod:`sensors.sim.noise` then turn the
ideal images into noisy colour and depth.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..types import CameraIntrinsics, as_transform
from . import noise
from .textures import SIZE, albedo, projection_tables, texture_bank
from .world import MATERIALS, SimWorld

AMBIENT = 0.3
LIGHT = 0.85
FALLOFF_M = 2.5
SPECULAR = {"ceramic": 0.35, "glass": 0.5, "metal": 0.3, "screen": 0.25}
SHININESS_POW2 = 5  # (n·h)^(2^5) = ^32


def camera_rays(intrinsics: CameraIntrinsics) -> np.ndarray:
    """(3, H·W) float32 camera-frame directions with z = 1 through every pixel centre (row-major),
    so a hit at ray parameter t has z-depth t."""
    import cv2

    w, h = intrinsics.size
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    px = np.stack([u.ravel(), v.ravel()], -1)
    if intrinsics.has_distortion:
        d = np.array(intrinsics.distortion)
        pts = px.reshape(-1, 1, 2)
        if intrinsics.distortion_model == "equidistant":
            xy = cv2.fisheye.undistortPoints(pts, intrinsics.K, d).reshape(-1, 2)
        else:
            xy = cv2.undistortPoints(pts, intrinsics.K, d).reshape(-1, 2)
    else:
        xy = (px - (intrinsics.cx, intrinsics.cy)) / (intrinsics.fx, intrinsics.fy)
    return np.vstack([xy.T, np.ones(len(xy))]).astype(np.float32)


def planar_faces(verts: np.ndarray, tris: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, ...]:
    """Group triangles into faces: coplanar triangles (normal to 1e-4, offset to 1 mm) of one part.

    Returns ``(face_of_triangle (M,), normal (F, 3) unit, offset (F,) with n·x = offset on the
    plane, part (F,), convex (F,) bool)``; ``convex`` marks faces that are one convex polygon
    without holes (the area of their convex hull equals the sum of their triangles' areas).
    """
    import cv2

    v0, v1, v2 = (verts[tris[:, i]] for i in range(3))
    cr = np.cross(v1 - v0, v2 - v0)
    area2 = np.linalg.norm(cr, axis=1)
    unit = cr / np.maximum(area2, 1e-300)[:, None]
    off = (unit * v0).sum(1)
    key = np.column_stack([owner, np.rint(unit * 1e4), np.rint(off * 1e3)]).astype(np.int64)
    _, first, face = np.unique(key, axis=0, return_index=True, return_inverse=True)
    face = face.reshape(-1)
    n_faces = len(first)
    area_sum = np.bincount(face, 0.5 * area2, n_faces)
    order = np.argsort(face, kind="stable")
    bounds = np.searchsorted(face[order], np.arange(n_faces + 1))
    convex = np.zeros(n_faces, bool)
    for f in range(n_faces):
        members = order[bounds[f]: bounds[f + 1]]
        if area_sum[f] <= 1e-12:
            continue
        if len(members) == 1:
            convex[f] = True
            continue
        n = unit[first[f]]
        a = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
        a /= np.linalg.norm(a)
        pts = verts[tris[members]].reshape(-1, 3)
        p2 = np.column_stack([pts @ a, pts @ np.cross(n, a)]).astype(np.float32)
        hull = cv2.contourArea(cv2.convexHull(p2))
        convex[f] = abs(hull - area_sum[f]) <= 1e-4 * area_sum[f] + 1e-8
    return face, unit[first], off[first], owner[first], convex


class Renderer:
    """Renders colour + depth of ``world`` seen by a camera with ``intrinsics``.

    Everything pose-independent (the ray-casting scene, per-face material tables, ray directions
    and the anchor layout, textures, the noise pool) is built here once; :meth:`render` is then
    a cast plus vectorised shading. ``seed`` fixes texture placement, exposure drift and the
    noise pool; ``exact`` casts a ray for every pixel (see the module doc).
    """

    def __init__(
        self,
        world: SimWorld,
        intrinsics: CameraIntrinsics,
        sensor: noise.SensorModel | None = None,
        seed: int = 0,
        exact: bool = False,
    ) -> None:
        import open3d as o3d

        if not isinstance(intrinsics, CameraIntrinsics):
            raise ConfigError(f"intrinsics must be a CameraIntrinsics, got {type(intrinsics).__name__}")
        if not world.parts:
            raise ConfigError("the world has no parts to render")
        self.world, self.intrinsics = world, intrinsics
        self.sensor = sensor or noise.SensorModel()
        self.seed = int(seed)
        verts, tris, owner = world.mesh_arrays()
        if len(tris) == 0 or not np.isfinite(verts).all():
            raise ConfigError("the world mesh has no triangles or non-finite vertices")
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(o3d.core.Tensor(verts.astype(np.float32)), o3d.core.Tensor(tris.astype(np.uint32)))

        self._tri_face, normal, offset, part, convex = planar_faces(verts, tris, owner)
        part_mat = np.array([MATERIALS.index(p.material) for p in world.parts], np.int64)
        part_tint = np.array([p.tint for p in world.parts], np.float32)
        part_off = np.random.default_rng([self.seed, 7]).integers(0, SIZE, (len(world.parts), 2))
        spec = np.array([SPECULAR.get(m, 0.0) for m in MATERIALS], np.float32)
        self._tex = projection_tables(part_mat[part], normal, part_off[part])
        self._tint = [np.ascontiguousarray(part_tint[part, c]) for c in range(3)]
        self._spec = spec[part_mat[part]]
        self._normal = normal.astype(np.float32)
        self._n = [np.ascontiguousarray(self._normal[:, c]) for c in range(3)]
        self._offset = offset.astype(np.float32)
        self._convex = np.append(convex, False)  # index -1 (no hit) → False

        self._rays_c = camera_rays(intrinsics)
        self._inv_len = (1.0 / np.linalg.norm(self._rays_c, axis=0)).astype(np.float32)
        self._anchors, self._grid, self._inner, self._inner_key, self._inner_cell = _anchor_layout(
            intrinsics.width, intrinsics.height, exact or intrinsics.has_distortion
        )
        self._anchor_rays = np.ascontiguousarray(self._rays_c[:, self._anchors])
        self._lights = np.array(
            [(*np.asarray(p, float).mean(0), world.ceiling_height_m - 0.05) for p in world.floor_polygons], np.float32
        ).reshape(-1, 3)
        self._bank = texture_bank(0)
        self._noise = noise.NoiseBank(self.seed, max(1 << 22, 8 * intrinsics.width * intrinsics.height))

    def render(
        self, T_world_camera: np.ndarray, rng: np.random.Generator, t_s: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render at ``T_world_camera`` (time ``t_s`` drives the exposure drift).

        Returns ``(color, depth_m, ideal_depth_m)``: HxWx3 uint8 RGB, HxW float32 sensor depth
        (0 = invalid) and HxW float32 noise-free z-depth of the mesh (0 where nothing is hit).
        """
        return self._shade(self._cast(as_transform(T_world_camera, "T_world_camera")), rng, t_s)

    # --- geometry ------------------------------------------------------------------------------
    def _cast(self, T: np.ndarray) -> tuple:
        """Hits at a validated pose: (T, world ray directions (3, N), z-depth (N,) of cast pixels,
        face id (N,) (-1: nothing hit), mask of the pixels whose depth comes from their face's plane)."""
        o = T[:3, 3].astype(np.float32)
        R = T[:3, :3].astype(np.float32)
        d = _rotate(R, self._rays_c)
        n_px = d.shape[1]
        t = np.zeros(n_px, np.float32)
        face = np.full(n_px, -1, np.int32)
        plane = np.zeros(n_px, bool)
        tri = self._cast_into(o, _rotate(R, self._anchor_rays), self._anchors, t, face).reshape(self._grid)
        if len(self._inner):
            fa = face[self._anchors].reshape(self._grid)
            # fill where the surrounding anchors hit one triangle, or one convex face
            ok = (_same(fa) & self._convex[fa]) | (_same(tri) & (tri >= 0))
            same = ok.reshape(-1)[self._inner_key]
            face[self._inner[same]] = fa.reshape(-1)[self._inner_cell[same]]
            plane[self._inner[same]] = True
            rest = self._inner[~same]
            self._cast_into(o, d[:, rest], rest, t, face)
        return T, d, t, face, plane

    def _cast_into(self, o: np.ndarray, d: np.ndarray, px: np.ndarray, t: np.ndarray, face: np.ndarray) -> np.ndarray:
        """Cast rays from ``o`` along ``d`` (3, len(px)), store hits at pixels ``px`` and return
        the triangle ids hit (-1 for none)."""
        import open3d as o3d

        if not len(px):
            return np.zeros(0, np.int64)
        rays = np.empty((len(px), 6), np.float32)
        rays[:, :3] = o
        rays[:, 3:] = d.T
        out = self._scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
        th = out["t_hit"].numpy()
        hit = np.isfinite(th)
        tri = np.where(hit, out["primitive_ids"].numpy(), -1).astype(np.int64)
        t[px[hit]] = th[hit]
        face[px[hit]] = self._tri_face[tri[hit]]
        return tri

    # --- appearance ----------------------------------------------------------------------------
    def _shade(self, cast: tuple, rng: np.random.Generator, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        T, d, t, face, plane = cast
        w, h = self.intrinsics.size
        o = T[:3, 3].astype(np.float32)
        miss = face < 0
        face = np.maximum(face, 0).astype(np.intp)  # take() is fastest with native indices
        n = np.stack([np.take(c, face) for c in self._n])
        ndotd = np.einsum("ij,ij->j", n, d)
        if plane.any():  # ray–plane intersection n·(o + t d) = offset
            dist = self._offset - (self._normal * o).sum(1)
            np.copyto(t, np.take(dist, face) / ndotd, where=plane)
        P = d * t + o[:, None]  # (3, N) world hit points
        cos_inc = np.abs(ndotd) * self._inv_len
        n *= -np.sign(ndotd)  # face the camera

        lum = albedo(self._bank, self._tex, face, P)
        spec_w = np.take(self._spec, face)
        shiny = bool(spec_w.any())
        shade = np.full(lum.shape, AMBIENT, np.float32)
        highlight = np.zeros(lum.shape, np.float32)
        for light in self._lights:
            L = light[:, None] - P
            dist2 = np.einsum("ij,ij->j", L, L)
            L *= 1.0 / np.sqrt(np.maximum(dist2, np.float32(1e-6)))  # unit vectors to the light
            atten = np.float32(LIGHT) / (1.0 + dist2 * np.float32(1.0 / FALLOFF_M**2))
            cos = np.einsum("ij,ij->j", n, L)
            shade += np.maximum(cos, 0.0, out=cos) * atten
            if shiny:  # Blinn-Phong: half vector between the light and the view direction (−d)
                L -= d * self._inv_len
                c = np.einsum("ij,ij->j", n, L) / np.sqrt(np.maximum(np.einsum("ij,ij->j", L, L), np.float32(1e-12)))
                np.maximum(c, 0.0, out=c)
                for _ in range(SHININESS_POW2):
                    np.multiply(c, c, out=c)
                highlight += c * atten
        lum *= shade
        highlight *= spec_w
        lum[miss] = 0.0
        highlight[miss] = 0.0
        radiance = np.stack([np.take(tint, face) * lum + highlight for tint in self._tint])  # (3, N)

        gain = noise.exposure_gain(t_s, self.seed, self.sensor.exposure_drift)
        color = noise.noisy_color(radiance, gain, self.sensor, self._noise.take(rng, radiance.size))
        color = np.ascontiguousarray(color.T).reshape(h, w, 3)
        ideal = t.reshape(h, w)
        depth = noise.noisy_depth(
            ideal, cos_inc.reshape(h, w), self.sensor, self._noise.take(rng, t.size), self.intrinsics.fx
        )
        return color, depth, ideal


def _same(g: np.ndarray) -> np.ndarray:
    """(3, ny, nx) masks of anchor-grid cells whose h-edge / v-edge / centre neighbours agree in ``g``."""
    ok = np.zeros((3, *g.shape), bool)
    ok[0, :, :-1] = g[:, :-1] == g[:, 1:]
    ok[1, :-1, :] = g[:-1] == g[1:]
    ok[2, :-1, :-1] = ok[0, :-1, :-1] & ok[0, 1:, :-1] & ok[1, :-1, :-1]
    return ok


def _rotate(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``R @ v`` for (3, N) ``v`` without BLAS (whose threads fight Open3D's for the cores)."""
    return np.stack([R[i, 0] * v[0] + R[i, 1] * v[1] + R[i, 2] * v[2] for i in range(3)])


def _anchor_layout(w: int, h: int, every_pixel: bool):
    """Pixels to cast and pixels to fill from their face's plane.

    Anchors are every 2nd column of every 2nd row plus the last column and row, in row-major
    grid order. Returns ``(anchor flat indices, anchor grid shape (ny, nx), other pixels' flat
    indices, their key into the (3, ny, nx) "same face" masks (h-edge / v-edge / centre), their
    top-left anchor's grid index)``.
    """
    if every_pixel:
        e = np.zeros(0, np.int64)
        return np.arange(w * h), (h, w), e, e, e
    ax, ay = (np.unique(np.r_[np.arange(0, n, 2), n - 1]) for n in (w, h))
    col, row = np.full(w, -1), np.full(h, -1)
    col[ax], row[ay] = np.arange(len(ax)), np.arange(len(ay))
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    yy, xx = yy.ravel(), xx.ravel()
    ca, ra = col[xx] >= 0, row[yy] >= 0
    inner = ~(ca & ra)
    yy, xx, ca, ra = yy[inner], xx[inner], ca[inner], ra[inner]
    cat = np.where(ra, 0, np.where(ca, 1, 2))
    cell = row[np.where(ra, yy, yy - 1)] * len(ax) + col[np.where(ca, xx, xx - 1)]
    anchors = (ay[:, None] * w + ax[None, :]).ravel()
    return anchors, (len(ay), len(ax)), yy * w + xx, cat * len(ax) * len(ay) + cell, cell
