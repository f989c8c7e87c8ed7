"""Streaming TSDF fusion on Open3D's tensor ``VoxelBlockGrid``, with a growing block grid,
optional far-block eviction, depth pre-filtering and a bias-corrected raycast.

Frames: depth is float32 metres (0 = invalid) in an OpenCV camera whose pose in the world is
``T_world_camera``; colour is uint8 RGB of the same size. Voxels hold a float32 TSDF, a float32
weight (observation count) and a float32 RGB average (float keeps colours from drifting, which
Open3D's uint16 colour storage does as it truncates every running-average update).

Block grid growth: Open3D's CPU hash map doubles its capacity when an insertion would overflow
it. This volume reserves ahead of every integration instead (``growth`` x the capacity, or what
the frame needs), so capacity follows the map closely without a ``block_count`` guess and the
peak during a rehash is (1 + growth) x, not 3 x, the grid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
import open3d as o3d

from sensors.errors import CalibrationError, FormatError
from sensors.types import CameraIntrinsics, RGBDFrame, as_transform

from ..scene.geometry import Mesh, PointCloud
from .config import ReconstructionConfig
from .filters import Prefilter
from .spill import SpillStore

log = logging.getLogger(__name__)

DEPTH_UNITS_PER_M = 4000.0  # depth is handed to Open3D as uint16 at 0.25 mm (up to 16 m)
_ATTRS = ("tsdf", "weight", "color")
_QUIET = o3d.utility.VerbosityLevel.Error  # Open3D prints progress warnings; library code must not


@dataclass(frozen=True, eq=False)
class Raycast:
    """The surface seen from a pose. ``depth_m`` (H, W) float32, 0 where no surface;
    ``color`` (H, W, 3) uint8 or ``None`` when no colour was fused; ``vertices_camera`` and
    ``normals_camera`` (H, W, 3) float32 in the camera frame (OpenCV axes), normals unit and
    facing the camera, zeros where no surface."""

    depth_m: np.ndarray
    color: np.ndarray | None
    vertices_camera: np.ndarray
    normals_camera: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return self.depth_m > 0


def _o3d_K(K: CameraIntrinsics) -> o3d.core.Tensor:
    return o3d.core.Tensor(K.K, o3d.core.float64)


def _pose(T: np.ndarray, what: str = "T_world_camera") -> np.ndarray:
    try:
        return as_transform(T, what)
    except CalibrationError:
        raise
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{what} is not a 4x4 matrix: {exc}") from None


def register_color(
    color: np.ndarray, depth_m: np.ndarray, K_color: CameraIntrinsics, K_depth: CameraIntrinsics, T_color_depth: np.ndarray
) -> np.ndarray:
    """Colour resampled onto the depth image's pixels (for depth not registered to colour):
    each valid depth pixel is back-projected, moved into the colour camera and looked up there.
    Occlusion between the two viewpoints is ignored; pixels without depth or outside the colour
    image are black."""
    v, u = np.indices(depth_m.shape, dtype=np.float32)
    z = depth_m
    p = np.stack([(u - K_depth.cx) / K_depth.fx * z, (v - K_depth.cy) / K_depth.fy * z, z], -1)
    q = p @ T_color_depth[:3, :3].T.astype(np.float32) + T_color_depth[:3, 3].astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = np.where(q[..., 2] > 0, K_color.fx * q[..., 0] / q[..., 2] + K_color.cx, -1).astype(np.float32)
        my = np.where(q[..., 2] > 0, K_color.fy * q[..., 1] / q[..., 2] + K_color.cy, -1).astype(np.float32)
    mx[z <= 0] = -1
    return cv2.remap(color, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


class TSDFVolume:
    """A truncated signed distance volume fused from posed depth (and colour) images.

    ``voxel_size_m``: voxel edge; ``sdf_trunc_m``: truncation (``None``: 4 voxels); depth is used
    within ``[depth_min_m, depth_max_m]``; ``block_resolution``: voxels per block side;
    ``device``: Open3D device (eviction and raycast refinement read the grid through numpy, so
    ``"CPU:0"``; others are untested). Any other
    :class:`ReconstructionConfig` field (pre-filtering, growth, eviction, weight threshold) can
    be passed as a keyword.
    """

    def __init__(
        self,
        voxel_size_m: float = 0.01,
        sdf_trunc_m: float | None = None,
        depth_min_m: float = 0.1,
        depth_max_m: float = 4.0,
        block_resolution: int = 8,
        device: str = "CPU:0",
        **options,
    ) -> None:
        self.config = ReconstructionConfig.create(
            voxel_size_m=voxel_size_m, sdf_trunc_m=sdf_trunc_m, depth_min_m=depth_min_m, depth_max_m=depth_max_m,
            block_resolution=block_resolution, device=device, **options,
        )
        c = self.config
        self.voxel_size_m = c.voxel_size_m
        self.block_size_m = c.voxel_size_m * c.block_resolution
        self._trunc_voxels = c.trunc_m / c.voxel_size_m
        self._device = o3d.core.Device(c.device)
        f32 = o3d.core.float32
        self._vbg = o3d.t.geometry.VoxelBlockGrid(
            _ATTRS, (f32, f32, f32), ((1), (1), (3)), c.voxel_size_m, c.block_resolution, c.initial_blocks, self._device
        )
        self._prefilter = Prefilter(c)
        self._raw: np.ndarray | None = None  # uint16 depth handed to Open3D, reused between frames
        self._spill = SpillStore() if c.evict_distance_m is not None and c.evict_mode == "spill" else None
        self.frames_integrated = 0
        self.blocks_evicted = 0
        self.has_color = False
        self._warned_distortion = False

    @classmethod
    def from_config(cls, config: ReconstructionConfig) -> TSDFVolume:
        return cls(**config.model_dump())

    # -- state ------------------------------------------------------------------------------
    @property
    def num_blocks(self) -> int:
        """Blocks in memory (spilled blocks are not counted)."""
        return int(self._vbg.hashmap().size())

    @property
    def capacity(self) -> int:
        """Blocks the grid can hold before it grows."""
        return int(self._vbg.hashmap().capacity())

    @property
    def bytes_per_block(self) -> int:
        # voxels x (tsdf + weight + rgb) float32, the int32 key and about 16 bytes of hashing
        return self.config.block_resolution**3 * 5 * 4 + 3 * 4 + 16

    @property
    def memory_bytes(self) -> int:
        """Estimated memory of the block grid (its capacity, not only the blocks in use)."""
        return self.capacity * self.bytes_per_block

    @property
    def num_spilled(self) -> int:
        return len(self._spill) if self._spill is not None else 0

    def __repr__(self) -> str:
        return (
            f"TSDFVolume(voxel={self.voxel_size_m * 100:g} cm, {self.num_blocks} blocks, "
            f"{self.memory_bytes / 2**20:.0f} MiB, {self.frames_integrated} frames)"
        )

    # -- integration ----------------------------------------------------------------------------
    def integrate(
        self, depth_m: np.ndarray, color: np.ndarray | None, intrinsics: CameraIntrinsics, T_world_camera: np.ndarray
    ) -> None:
        """Fuse one depth image (float32 metres, 0 = invalid) seen from ``T_world_camera``, with
        optional colour (uint8 RGB of the same size). Depth is pre-filtered as configured. A
        frame without valid depth in range changes nothing."""
        T = _pose(T_world_camera)
        depth_m = self._check_depth(depth_m, intrinsics)
        if color is not None:
            color = np.asarray(color)
            if color.dtype != np.uint8 or color.shape != (*depth_m.shape, 3):
                raise FormatError(
                    f"colour must be {depth_m.shape[1]}x{depth_m.shape[0]}x3 uint8 RGB like the depth, "
                    f"got {color.dtype} {color.shape}"
                )
        if intrinsics.has_distortion and not self._warned_distortion:
            log.warning("lens distortion is ignored by TSDF fusion (undistort images first for best results)")
            self._warned_distortion = True
        d = self._prefilter(depth_m)
        if not d.any():
            return
        if self._raw is None or self._raw.shape != d.shape:
            self._raw = np.empty(d.shape, np.uint16)
        np.multiply(d, np.float32(DEPTH_UNITS_PER_M), out=d)
        np.add(d, np.float32(0.5), out=d)
        np.copyto(self._raw, d, casting="unsafe")  # within the depth range: no overflow
        depth_img = o3d.t.geometry.Image(self._tensor(self._raw))
        K = _o3d_K(intrinsics)
        ext = o3d.core.Tensor(np.linalg.inv(T), o3d.core.float64)
        c = self.config
        blocks = self._vbg.compute_unique_block_coordinates(
            depth_img, K, ext, DEPTH_UNITS_PER_M, c.depth_max_m, self._trunc_voxels
        )
        self._reserve(len(blocks))
        if self._spill is not None and len(self._spill):
            self._restore(blocks.cpu().numpy())
        if color is not None:
            color_img = o3d.t.geometry.Image(self._tensor(np.ascontiguousarray(color)))
            self._vbg.integrate(blocks, depth_img, color_img, K, K, ext, DEPTH_UNITS_PER_M, c.depth_max_m, self._trunc_voxels)
            self.has_color = True
        else:
            self._vbg.integrate(blocks, depth_img, K, ext, DEPTH_UNITS_PER_M, c.depth_max_m, self._trunc_voxels)
        self.frames_integrated += 1
        if c.evict_distance_m is not None and self.frames_integrated % c.evict_every == 0:
            self.evict(T[:3, 3], c.evict_distance_m)

    def integrate_frame(self, frame: RGBDFrame, T_world_camera: np.ndarray, T_color_depth: np.ndarray | None = None) -> None:
        """Fuse an :class:`RGBDFrame` whose colour camera is at ``T_world_camera``. Depth not
        registered to colour (``frame.depth_intrinsics`` set) is fused in the depth camera, at
        ``T_world_camera @ T_color_depth`` (the session's ``calibration.T_color_depth``), with
        the colour resampled onto it by :func:`register_color`."""
        if frame.depth_m is None:
            raise FormatError(f"frame {frame.index} has no depth image; TSDF fusion needs depth")
        if frame.depth_intrinsics is None:
            self.integrate(frame.depth_m, frame.color, frame.intrinsics, T_world_camera)
            return
        T_cd = np.eye(4) if T_color_depth is None else _pose(T_color_depth, "T_color_depth")
        Kd = frame.depth_intrinsics
        color = None
        if frame.color is not None:
            depth = self._check_depth(frame.depth_m, Kd)
            color = register_color(frame.color, depth, frame.intrinsics, Kd, T_cd)
        self.integrate(frame.depth_m, color, Kd, _pose(T_world_camera) @ T_cd)

    def _tensor(self, a: np.ndarray) -> o3d.core.Tensor:
        """``a`` as an Open3D tensor: shared, not copied, on the CPU."""
        t = o3d.core.Tensor.from_numpy(a)
        return t if self._device.get_type() == o3d.core.Device.DeviceType.CPU else t.to(self._device)

    @staticmethod
    def _check_depth(depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        depth_m = np.asarray(depth_m)
        if not np.issubdtype(depth_m.dtype, np.floating):
            raise FormatError(
                f"depth must be float32 metres, got {depth_m.dtype} (convert raw depth with depth_to_metres)"
            )
        if depth_m.shape != (intrinsics.height, intrinsics.width):
            raise CalibrationError(
                f"depth is {depth_m.shape[1] if depth_m.ndim > 1 else '?'}x{depth_m.shape[0]} but the intrinsics "
                f"are for {intrinsics.width}x{intrinsics.height} images"
            )
        return depth_m.astype(np.float32, copy=False)

    def _reserve(self, incoming: int) -> None:
        """Grow the grid before Open3D would (it sizes by the keys it is given, duplicates
        included, and then doubles)."""
        hm = self._vbg.hashmap()
        need = hm.size() + incoming
        if need > hm.capacity():
            hm.reserve(max(need, int(hm.capacity() * self.config.growth)))

    # -- eviction -------------------------------------------------------------------------------
    def _active(self) -> tuple[np.ndarray, np.ndarray]:
        """(buffer indices, (N, 3) block keys) of the blocks in memory."""
        hm = self._vbg.hashmap()
        buf = hm.active_buf_indices().cpu().numpy().astype(np.int64)
        return buf, hm.key_tensor().cpu().numpy()[buf]

    def _attribute(self, name: str) -> np.ndarray:
        """A voxel attribute as a numpy view of the grid's own memory (CPU grids only)."""
        return self._vbg.attribute(name).numpy()

    def evict(self, center_m: np.ndarray, distance_m: float) -> int:
        """Remove the blocks whose centre is farther than ``distance_m`` from ``center_m``
        (dropped, or spilled to disk with ``evict_mode="spill"``); returns how many."""
        buf, keys = self._active()
        far = np.linalg.norm((keys + 0.5) * self.block_size_m - np.asarray(center_m), axis=1) > distance_m
        if not far.any():
            return 0
        idx = buf[far]
        if self._spill is not None:
            self._spill.put(keys[far], {a: self._attribute(a)[idx] for a in _ATTRS})
        for a in _ATTRS:  # Open3D reuses erased slots without clearing them
            self._attribute(a)[idx] = 0
        self._vbg.hashmap().erase(o3d.core.Tensor(keys[far], o3d.core.int32, self._device))
        self.blocks_evicted += int(far.sum())
        return int(far.sum())

    def _restore(self, keys: np.ndarray | None) -> None:
        """Bring spilled blocks among ``keys`` (all when ``None``) back into the grid."""
        got = self._spill.take(keys) if self._spill is not None else None
        if got is None:
            return
        k, values = got
        self._reserve(len(k))
        self._vbg.hashmap().insert(
            o3d.core.Tensor(k, o3d.core.int32, self._device),
            [o3d.core.Tensor(values[a], device=self._device) for a in _ATTRS],
        )

    # -- outputs ----------------------------------------------------------------------------------
    @property
    def _extract_threshold(self) -> float:
        """Open3D's extraction keeps voxels with weight *above* its threshold while its raycast
        keeps those at or above; both here keep weight ≥ ``weight_threshold`` (weights count
        observations, so one frame fused with ``weight_threshold=1`` gives a surface)."""
        return max(self.config.weight_threshold - 1e-3, 0.0)

    def extract_mesh(self) -> Mesh:
        """Marching-cubes mesh of the zero level set (world frame, vertex colours and normals);
        spilled blocks are brought back first."""
        self._restore(None)
        if self.num_blocks == 0:
            return Mesh.empty()
        with o3d.utility.VerbosityContextManager(_QUIET):
            m = self._vbg.extract_triangle_mesh(self._extract_threshold)
        mesh = Mesh.from_open3d(m)
        if not self.has_color:
            mesh.vertex_colors = None
        return mesh

    def extract_cloud(self) -> PointCloud:
        """Surface points with normals (and colours) at the zero crossings between voxels."""
        self._restore(None)
        if self.num_blocks == 0:
            return PointCloud.empty()
        with o3d.utility.VerbosityContextManager(_QUIET):
            pc = self._vbg.extract_point_cloud(self._extract_threshold)
        cloud = PointCloud.from_open3d(pc)
        if cloud.normals is not None:
            n = np.linalg.norm(cloud.normals, axis=1, keepdims=True)
            cloud.normals = cloud.normals / np.maximum(n, 1e-12)
        if not self.has_color:
            cloud.colors = None
        return cloud

    def _frustum_blocks(self, T: np.ndarray, K: CameraIntrinsics, dmin: float, dmax: float) -> np.ndarray:
        """Keys of the in-memory blocks that may intersect the view frustum (conservative)."""
        _, keys = self._active()
        if not len(keys):
            return keys
        r = self.block_size_m * np.sqrt(3) / 2
        p = ((keys + 0.5) * self.block_size_m - T[:3, 3]) @ T[:3, :3]  # block centres, camera frame
        z = p[:, 2]
        zc = np.maximum(z, 1e-6)
        mx, my = r * K.fx / zc, r * K.fy / zc
        u, v = K.fx * p[:, 0] / zc + K.cx, K.fy * p[:, 1] / zc + K.cy
        inside = (u > -mx) & (u < K.width + mx) & (v > -my) & (v < K.height + my)
        keep = (z > dmin - r) & (z < dmax + r) & (inside | (z < r))
        return keys[keep]

    def raycast(
        self,
        T_world_camera: np.ndarray,
        intrinsics: CameraIntrinsics,
        depth_min_m: float | None = None,
        depth_max_m: float | None = None,
    ) -> Raycast:
        """Render the fused surface from a camera at ``T_world_camera`` with ``intrinsics``
        (any size; a smaller one is faster). Depth is the z of the first zero crossing along
        each ray, refined by one Newton step on the trilinearly interpolated TSDF (Open3D's
        nearest-voxel march alone is biased by about half a voxel)."""
        T = _pose(T_world_camera)
        dmin = self.config.depth_min_m if depth_min_m is None else float(depth_min_m)
        dmax = self.config.depth_max_m if depth_max_m is None else float(depth_max_m)
        h, w = intrinsics.height, intrinsics.width
        keys = self._frustum_blocks(T, intrinsics, dmin, dmax)
        if not len(keys):
            z3 = np.zeros((h, w, 3), np.float32)
            return Raycast(np.zeros((h, w), np.float32), z3.astype(np.uint8) if self.has_color else None, z3, z3.copy())
        attrs = ["depth", "vertex", "normal", "index", "interp_ratio", "mask"] + (["color"] if self.has_color else [])
        with o3d.utility.VerbosityContextManager(_QUIET):
            r = self._vbg.ray_cast(
                o3d.core.Tensor(keys, o3d.core.int32, self._device), _o3d_K(intrinsics),
                o3d.core.Tensor(np.linalg.inv(T), o3d.core.float64), w, h, attrs, 1.0, dmin, dmax,
                self.config.weight_threshold, self._trunc_voxels, 8,
            )
        depth = r["depth"].cpu().numpy()[..., 0].copy()
        vertices = r["vertex"].cpu().numpy().copy()
        normals = -r["normal"].cpu().numpy()  # Open3D's point away from the camera
        hit = depth > 0
        idx, ratio, mask = (r[k].cpu().numpy()[hit] for k in ("index", "interp_ratio", "mask"))
        tsdf = self._attribute("tsdf").reshape(-1)
        wts = np.where(mask, ratio, 0.0)
        val = (tsdf[np.where(mask, idx, 0)] * wts).sum(1) / np.maximum(wts.sum(1), 1e-6)
        # the TSDF is depth - z in truncation units: one step along z moves to the zero crossing
        step = np.clip(val * self.config.trunc_m, -1.5 * self.voxel_size_m, 1.5 * self.voxel_size_m)
        z_new = depth[hit] + step
        ok = (z_new >= dmin) & (z_new <= dmax)
        vertices[hit] *= (z_new / depth[hit])[:, None]
        depth[hit] = np.where(ok, z_new, 0)
        vertices[~(depth > 0)] = 0
        normals[~(depth > 0)] = 0
        color = None
        if self.has_color:
            color = np.clip(np.round(r["color"].cpu().numpy() * 255), 0, 255).astype(np.uint8)
            color[~(depth > 0)] = 0
        return Raycast(depth, color, vertices, normals.astype(np.float32, copy=False))

    def close(self) -> None:
        """Release the spill folder, if any."""
        if self._spill is not None:
            self._spill.close()
