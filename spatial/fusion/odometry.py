"""Frame-to-model RGB-D odometry (KinectFusion-style) against the shared TSDF volume.

Each frame is aligned to the model's raycast (rendered at a reference pose, refreshed every few
frames or when the camera moved) by coarse-to-fine projective point-to-plane ICP, checked for
failure, then fused into the volume at the estimated pose. Poses are ``T_map_camera``: the map
is the volume's frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from sensors.types import CameraIntrinsics, RGBDFrame, orthonormalize

from .config import TrackerConfig
from .geometry import adjoint, inv, motion
from .icp import (
    IcpConfig,
    IcpResult,
    SourcePyramid,
    TargetPyramid,
    align,
    align_open3d,
    downsample_depth,
    gray,
    normal_map,
)


@dataclass
class Prepared:
    """A frame ready for tracking and fusion: its source pyramid and the reduced-size depth and
    colour that are fused (``K_small`` their intrinsics)."""

    frame: RGBDFrame
    source: SourcePyramid
    depth: np.ndarray
    color: np.ndarray | None
    K_small: CameraIntrinsics
    valid_fraction: float
    dark: bool
    gray: np.ndarray  # uint8 at the reduced size (zeros without colour)

    def feature_gray(self) -> np.ndarray:
        """uint8 grey image at twice the reduced size (or the full size), for ORB features."""
        c = self.frame.color
        if c is None or c.shape[:2] != self.frame.depth_m.shape:
            return self.gray
        g = cv2.cvtColor(c, cv2.COLOR_RGB2GRAY)
        w = min(2 * self.gray.shape[1], g.shape[1])
        return g if w == g.shape[1] else cv2.resize(g, (w, w * g.shape[0] // g.shape[1]), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class OdometryResult:
    """Outcome of tracking one frame. ``ok`` false means the frame is lost, ``reason`` says why;
    ``degenerate`` flags geometry that constrains only some directions (``information`` then
    has little weight in the others). ``information``: 6x6 on left twists ``(ω, v)`` of
    ``T_map_camera`` in the map frame, scaled to ``visual_sigma_m``."""

    T_map_camera: np.ndarray
    ok: bool
    reason: str
    inlier_ratio: float
    rmse_m: float
    constraint: float
    degenerate: bool
    information: np.ndarray
    overlap: float = 0.0


def information_from_hessian(H: np.ndarray, depth_m: float, sigma_m: float, min_ratio: float) -> np.ndarray:
    """Normalise an ICP Hessian into an information matrix whose best-constrained direction has
    standard deviation ``sigma_m`` (rotations measured as displacement at ``depth_m``); directions
    weaker than ``min_ratio`` of the best get none."""
    S = np.diag([depth_m] * 3 + [1.0] * 3)
    Si = np.linalg.inv(S)
    lam, Q = np.linalg.eigh(Si @ H @ Si)
    if lam[-1] <= 0:
        return np.zeros((6, 6))
    r = np.clip(lam / lam[-1], 0, 1)
    r[r < min_ratio] = 0.0
    return S @ Q @ np.diag(r / sigma_m**2) @ Q.T @ S


@lru_cache(maxsize=1)
def integration_offset_px() -> float:
    """Half-pixel correction for fusing into :class:`TSDFVolume`, measured once.

    Open3D's ``VoxelBlockGrid.integrate`` reads the depth pixel ``int(u)`` (truncating) for a
    voxel projecting to ``u``, while raycasts and this package put pixel centres at integer
    coordinates: fused surfaces come out shifted by half a pixel (about 5 mm at 3 m at
    320x240), which frame-to-model tracking turns into drift. A tilted plane is fused and
    raycast to measure the shift; the returned offset is added to ``cx``/``cy`` when fusing
    (0 if the volume already handles it)."""
    from ..reconstruction.tsdf import TSDFVolume

    K = CameraIntrinsics(100.0, 100.0, 79.5, 59.5, 160, 120)
    u = np.arange(160, dtype=np.float64)
    z = 1.0 / (1.0 - (u - K.cx) / K.fx)  # the plane z = 1 + x
    depth = np.tile(z.astype(np.float32), (120, 1))
    vol = TSDFVolume(0.01, weight_threshold=0.5, bilateral=False, edge_removal=False)
    vol.integrate(depth, None, K, np.eye(4))
    rc = vol.raycast(np.eye(4), K)
    win = (slice(40, 80), slice(40, 120))
    ok = rc.depth_m[win] > 0
    if ok.sum() < 100:
        return 0.0
    shift = (rc.depth_m[win] - depth[win]) / np.gradient(z)[40:120][None, :]
    return float(-np.round(2 * np.median(shift[ok])) / 2)


class FrameToModel:
    """The odometry front end: owns the TSDF model of the map (``volume``)."""

    def __init__(self, intrinsics: CameraIntrinsics, config: TrackerConfig) -> None:
        from ..reconstruction.tsdf import TSDFVolume

        self.K = intrinsics
        self.config = config
        self.scale = 1.0
        while intrinsics.width * self.scale / 2 >= config.track_width:
            self.scale /= 2
        self.K_small = intrinsics.scaled(self.scale) if self.scale != 1.0 else intrinsics
        self.volume = TSDFVolume(
            config.voxel_size_m, config.sdf_trunc_m, config.depth_min_m, config.depth_max_m,
            weight_threshold=1.0, bilateral=False, edge_removal=True,
        )
        n = len(config.iterations)
        c = config.max_correspondence_m
        self.icp = IcpConfig(
            iterations=config.iterations, max_dist_m=tuple(c * (1 + 0.5 * (n - 1 - i)) for i in range(n)),
            huber_m=config.huber_m, photometric_weight=config.photometric_weight,
            depth_weighting=config.depth_weighting, refine_iterations=config.refine_iterations,
            refine_level=config.refine_level,
        )
        off = integration_offset_px() if config.fuse_pixel_offset is None else config.fuse_pixel_offset
        Ks = self.K_small
        self.K_fuse = CameraIntrinsics(Ks.fx, Ks.fy, Ks.cx + off, Ks.cy + off, Ks.width, Ks.height)
        self.T_ref: np.ndarray | None = None  # pose the model view was rendered at
        self.view: TargetPyramid | None = None
        self.frames_since_render = 0

    # -- per frame ------------------------------------------------------------------------------
    def prepare(self, frame: RGBDFrame) -> Prepared:
        c = self.config
        d = frame.depth_m
        Ks = self.K_small
        # reduce once (2x2 means, no averaging across edges), for both tracking and fusion
        small = np.where((d >= c.depth_min_m) & (d <= c.depth_max_m), d, np.float32(0)).astype(np.float32, copy=False)
        while small.shape[1] > Ks.width:
            small = downsample_depth(small)
        color = None
        if frame.color is not None and frame.color.shape[:2] == d.shape:
            color = cv2.resize(frame.color, (Ks.width, Ks.height), interpolation=cv2.INTER_AREA) if self.scale != 1.0 else frame.color
        src = SourcePyramid.build(small, color, Ks, 1.0, c.levels, c.depth_min_m, c.depth_max_m)
        g = cv2.cvtColor(color, cv2.COLOR_RGB2GRAY) if color is not None else np.zeros(small.shape, np.uint8)
        dark = color is not None and float(g.mean()) < 255 * c.dark_intensity
        return Prepared(frame, src, small, color, Ks, float((d > 0).mean()), dark, g)

    @property
    def has_model(self) -> bool:
        return self.view is not None

    def render(self, T_map_camera: np.ndarray) -> None:
        """Refresh the model view at ``T_map_camera``."""
        rc = self.volume.raycast(T_map_camera, self.K_small)
        inten = gray(rc.color, rc.depth_m.shape) if rc.color is not None and self.config.photometric_weight > 0 else None
        # normals from the vertex map: the volume's gradient normals are noisy where few, noisy frames were fused
        normals = normal_map(rc.vertices_camera, 0.1)
        self.view = TargetPyramid.build(rc.vertices_camera, normals, inten, self.K_small, self.config.levels)
        self.T_ref = np.array(T_map_camera, float)
        self.frames_since_render = 0
        self.view_valid = float((rc.depth_m > 0).mean())

    def maybe_render(self, T_map_camera: np.ndarray) -> bool:
        c = self.config
        self.frames_since_render += 1
        dt, dr = motion(self.T_ref, T_map_camera)
        if self.frames_since_render >= c.raycast_every or dt > c.raycast_move_m or np.degrees(dr) > c.raycast_turn_deg:
            self.render(T_map_camera)
            return True
        return False

    def integrate(self, prep: Prepared, T_map_camera: np.ndarray) -> None:
        self.volume.integrate(prep.depth, prep.color, self.K_fuse, T_map_camera)

    def align(self, prep: Prepared, T_init: np.ndarray, view: TargetPyramid | None = None,
              T_ref: np.ndarray | None = None, icp: IcpConfig | None = None) -> tuple[IcpResult, np.ndarray]:
        """ICP of ``prep`` against a model view (default the current one) from ``T_init``
        (``T_map_camera``); returns the raw result and the estimated ``T_map_camera``."""
        view = view or self.view
        T_ref = self.T_ref if T_ref is None else T_ref
        icp = icp or self.icp
        T0 = inv(T_ref) @ T_init
        if self.config.icp_backend == "open3d":
            r = align_open3d(prep.source, view, T0, icp, hybrid=self.config.photometric_weight > 0 and not prep.dark
                             and prep.color is not None)
        else:
            r = align(prep.source, view, T0, icp, photometric=not prep.dark and prep.frame.color is not None)
        return r, orthonormalize(T_ref @ r.T)

    def track(self, prep: Prepared, T_pred: np.ndarray, strict: bool = False) -> OdometryResult:
        """Align ``prep`` to the model from the prediction ``T_pred`` and judge the result."""
        c = self.config
        if prep.valid_fraction < c.min_valid_depth or len(prep.source.levels[-1].points) < 50:
            why = f"too little valid depth ({100 * prep.valid_fraction:.1f}% of pixels)"
            return self._lost(T_pred, why + (", dark image" if prep.dark else ""))
        r, T = self.align(prep, T_pred)
        return self.judge(r, T, T_pred, strict)

    def judge(self, r: IcpResult, T: np.ndarray, T_pred: np.ndarray, strict: bool = False) -> OdometryResult:
        """Accept or reject an alignment (see :class:`TrackerConfig`); ``strict`` (relocalisation,
        where a wrong basin is likelier) asks for an inlier ratio of at least 0.75."""
        c = self.config
        min_inl = max(c.min_inlier_ratio, 0.75) if strict else c.min_inlier_ratio
        if not r.ok:
            return self._lost(T_pred, "ICP found no geometric constraint (singular system)", r)
        if r.overlap < c.min_overlap:
            return self._lost(T_pred, f"little overlap with the map ({100 * r.overlap:.0f}% of the points)", r)
        if r.inlier_ratio < min_inl:
            return self._lost(T_pred, f"low inlier ratio {r.inlier_ratio:.2f} (< {min_inl:.2f})", r)
        if r.rmse_m > c.max_rmse_m:
            return self._lost(T_pred, f"large residual {100 * r.rmse_m:.1f} cm (> {100 * c.max_rmse_m:.1f} cm)", r)
        dt, dr = motion(T_pred, T)
        if dt > c.max_jump_m or np.degrees(dr) > c.max_jump_deg:
            return self._lost(T_pred, f"implausible jump {100 * dt:.1f} cm / {np.degrees(dr):.1f}° from the prediction", r)
        # information in the map frame: the ICP Hessian is on left twists in the model view's frame
        A = adjoint(self.T_ref)
        Ai = np.linalg.inv(A)
        H = Ai.T @ r.hessian @ Ai
        info = information_from_hessian(H, 1.5, c.visual_sigma_m, 1e-4)
        degenerate = r.constraint < c.min_constraint
        return OdometryResult(T, True, "degenerate geometry" if degenerate else "", r.inlier_ratio, r.rmse_m,
                              r.constraint, degenerate, info, r.overlap)

    @staticmethod
    def _lost(T_pred: np.ndarray, reason: str, r: IcpResult | None = None) -> OdometryResult:
        return OdometryResult(T_pred, False, reason, r.inlier_ratio if r else 0.0, r.rmse_m if r else float("nan"),
                              r.constraint if r else 0.0, False, np.zeros((6, 6)), r.overlap if r else 0.0)
