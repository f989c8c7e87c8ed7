"""Metric 3D hand joints in the camera frame from 2D landmarks, the landmark model's relative 3D
joints and (optionally) aligned depth.

Every solution keeps each joint on its pixel's viewing ray, ``P_i = z_i · K⁻¹ (u_i, v_i, 1)``, so
only the 21 depths ``z_i`` are unknown:

1. **Monocular** (always): a perspective-n-point fit of the model's 3D hand (``world_landmarks_m``,
   average adult size) to the 2D landmarks gives ``z_mono``; at hand scale ``s`` the depths are
   ``s · z_mono`` (scaling a hand about the camera centre does not change its image). Without
   depth, ``s = 1`` and the hand is flagged ``"monocular"`` (scale uncertain by about ±15 %).
2. **Depth sampling**: around each joint a window about half a finger wide is read; samples within
   a band around the depth the hand model predicts there are the joint's surface (their median,
   plus the joint's radius to reach its centre); a window whose samples are all well in front, or
   a surface more than ``occlusion_m`` nearer than the hand model scaled to the depth data, is
   an **occluder** (another finger, a knuckle in front of a finger pointing away, an object:
   the joint is behind it, a lower bound); a window with only farther samples has slipped off
   the hand (no measurement).
3. **Fusion**: robust least squares (Gauss-Newton with soft-L1 reweighting) over the 21 depths
   and ``s``: measured depths (sensor noise growing with z²), occlusion lower bounds, the
   model's relative depths, the model's bone lengths scaled by ``s`` (bone length priors) and
   ``s ≈ 1 ± 0.15``.

Flags: ``"monocular"``, ``"no_depth"`` (frame without depth), ``"depth_insufficient"`` (fewer than
``MIN_JOINTS`` joints measured), ``"depth_scale_implausible"`` (depth gives a hand size outside
``SCALE_RANGE``: misregistered depth or not a hand; the monocular result is kept),
``"occluded:<n>"`` (joints behind another surface), ``"intrinsics_assumed"``.
Depth that is plainly not in metres raises :class:`~sensors.errors.CalibrationError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sensors.errors import CalibrationError
from sensors.types import CameraIntrinsics

from .joints import BONES, RADII_M
from .result import Hand, HandsResult

MIN_JOINTS = 6
SCALE_RANGE = (0.6, 1.6)
HAND_DEPTH_RANGE_M = (0.05, 20.0)  # outside this, the depth map is not in metres
_ROBUST = 3.0  # residuals (in sigmas) beyond which the soft-L1 loss down-weights
_PARENT = np.array([p for p, _ in BONES])
_CHILD = np.array([c for _, c in BONES])


@dataclass(frozen=True)
class LiftOptions:
    """``band_m``: half-width of the accepted depth band around the model's prediction;
    ``occlusion_m``: a joint's surface this much nearer than the fitted model is an occluder;
    ``model_sigma_m``: trust in the landmark model's relative depths; ``bone_sigma_m``: in its bone
    lengths; ``scale_sigma``: spread of adult hand sizes; ``noise_m`` + ``noise_quadratic`` · z²:
    depth sensor noise (metres)."""

    band_m: float = 0.04
    occlusion_m: float = 0.02
    model_sigma_m: float = 0.012
    bone_sigma_m: float = 0.004
    scale_sigma: float = 0.15
    noise_m: float = 0.002
    noise_quadratic: float = 0.003


def default_intrinsics(width: int, height: int, hfov_deg: float = 60.0) -> CameraIntrinsics:
    """Pinhole intrinsics for an image of unknown camera (horizontal field of view ``hfov_deg``)."""
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2)
    return CameraIntrinsics(f, f, (width - 1) / 2, (height - 1) / 2, width, height)


def _rays(K: CameraIntrinsics, px: np.ndarray) -> np.ndarray:
    """Viewing rays (z = 1) of pixels, undistorted when the intrinsics have distortion."""
    pts = px.reshape(-1, 1, 2).astype(np.float64)
    if K.has_distortion and K.distortion_model == "equidistant":
        und = cv2.fisheye.undistortPoints(pts, K.K, np.array(K.distortion)).reshape(-1, 2)
    elif K.has_distortion:
        und = cv2.undistortPoints(pts, K.K, np.array(K.distortion)).reshape(-1, 2)
    else:
        und = (px - (K.cx, K.cy)) / (K.fx, K.fy)
    return np.column_stack([und, np.ones(len(px))])


def monocular_depths(hand: Hand, rays: np.ndarray) -> np.ndarray | None:
    """Joint depths (m) of the model's average-size hand fitted to the landmarks, or ``None``."""
    W = np.ascontiguousarray(hand.world_landmarks_m, dtype=np.float64)
    ok, rvec, tvec = cv2.solvePnP(W, np.ascontiguousarray(rays[:, :2]), np.eye(3), None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return None
    z = (W @ cv2.Rodrigues(rvec)[0].T + tvec.ravel())[:, 2]
    return z if np.all(z > 0.01) else None


def _sample(depth: np.ndarray, px: np.ndarray, radius_px: float) -> np.ndarray:
    """(21, n) depth samples in a square window around each joint, NaN where missing."""
    h, w = depth.shape
    r = int(np.clip(round(radius_px), 1, 15))
    off = np.arange(-r, r + 1)
    c = np.round(px).astype(int)
    xs = c[:, :1] + off[None, :]
    ys = c[:, 1:] + off[None, :]
    inside = ((xs >= 0) & (xs < w))[:, None, :] & ((ys >= 0) & (ys < h))[:, :, None]
    vals = depth[np.clip(ys, 0, h - 1)[:, :, None], np.clip(xs, 0, w - 1)[:, None, :]].astype(np.float64)
    vals[~inside | ~(vals > 0)] = np.nan
    return vals.reshape(len(px), -1)


def _quantile(a: np.ndarray, q: float = 0.5) -> np.ndarray:
    """Per-row ``q`` quantile (nearest rank) ignoring NaN; NaN for empty rows."""
    n = np.isfinite(a).sum(axis=1)
    idx = np.clip(np.round((n - 1) * q).astype(int), 0, a.shape[1] - 1)
    out = np.sort(a, axis=1)[np.arange(len(a)), idx]
    return np.where(n > 0, out, np.nan)


def lift_hand(
    hand: Hand, intrinsics: CameraIntrinsics, depth_m: np.ndarray | None = None, options: LiftOptions | None = None
) -> Hand:
    """``hand`` with ``joints_camera_m``, ``lift``, ``scale`` and flags set (see the module doc).
    ``depth_m`` must be registered to the colour image (same size, metres, 0 = invalid)."""
    o = options or LiftOptions()
    rays = _rays(intrinsics, hand.landmarks_px)
    z_mono = monocular_depths(hand, rays)
    if z_mono is None:
        return hand.with_(lift=None, add_flags=("lift_failed",))
    mono = hand.with_(joints_camera_m=rays * z_mono[:, None], lift="monocular", scale=1.0, add_flags=("monocular",))
    if depth_m is None:
        return mono.with_(add_flags=("no_depth",))

    S = _sample(depth_m, hand.landmarks_px, 0.5 * float(np.median(RADII_M[1:] * intrinsics.fx / z_mono[1:])))
    counts = np.isfinite(S).sum(axis=1)
    if (counts > 0).sum() < MIN_JOINTS:
        return mono.with_(add_flags=("depth_insufficient",))
    whole = _quantile(S)
    med = float(np.median(whole[counts > 0]))
    if not HAND_DEPTH_RANGE_M[0] <= med <= HAND_DEPTH_RANGE_M[1]:
        raise CalibrationError(
            f"depth around the hand is {med:.3g}: depth must be metres "
            f"({'millimetres?' if med > HAND_DEPTH_RANGE_M[1] else 'wrong scale?'})"
        )
    # coarse scale from the nearer surfaces in each window, then per-joint band selection
    near = _quantile(S, 0.2)[counts > 0]
    s0 = float(np.median((near + RADII_M[counts > 0]) / z_mono[counts > 0]))
    if not SCALE_RANGE[0] / 1.2 <= s0 <= SCALE_RANGE[1] * 1.2:
        return mono.with_(add_flags=("depth_scale_implausible",))
    expect = s0 * (z_mono - RADII_M)
    inband = np.abs(S - expect[:, None]) <= o.band_m
    surface = _quantile(np.where(inband, S, np.nan))
    good = inband.sum(axis=1) >= np.maximum(1, counts // 4)
    meas = np.where(good, surface + s0 * RADII_M, np.nan)
    occl = np.where(~good & (counts > 0) & (whole < expect - o.band_m), whole, np.nan)
    ok = np.isfinite(meas)
    if ok.sum() < MIN_JOINTS:
        return mono.with_(add_flags=("depth_insufficient",))
    s1 = float(np.median(meas[ok] / z_mono[ok]))
    if not SCALE_RANGE[0] <= s1 <= SCALE_RANGE[1]:
        return mono.with_(add_flags=("depth_scale_implausible",))
    # a surface clearly nearer than the hand model puts the joint is something in front of it
    # (another finger, the knuckle of a finger pointing away): a lower bound, not a measurement
    front = ok & (meas < s1 * z_mono - o.occlusion_m)
    occl[front], meas[front] = meas[front], np.nan
    if np.isfinite(meas).sum() < MIN_JOINTS:
        return mono.with_(add_flags=("depth_insufficient",))
    z, s = _fuse(z_mono, rays, meas, occl, hand.world_landmarks_m, s1, o)
    n_occ = int(np.isfinite(occl).sum())
    return hand.with_(joints_camera_m=rays * z[:, None], lift="depth", scale=s, add_flags=[f"occluded:{n_occ}"] if n_occ else [])


def _fuse(z_mono, rays, meas, occl, W, s_init, o: LiftOptions, iterations: int = 8) -> tuple[np.ndarray, float]:
    """Robust Gauss-Newton (IRLS, soft-L1 weights) over x = (z_0..z_20, s); see the module doc."""
    bones = np.linalg.norm(W[_CHILD] - W[_PARENT], axis=1)
    ok, oc = np.flatnonzero(np.isfinite(meas)), np.flatnonzero(np.isfinite(occl))
    sig = o.noise_m + o.noise_quadratic * meas[ok] ** 2
    nb = len(bones)
    r0 = len(ok) + len(oc)
    rb = r0 + 21
    J = np.zeros((rb + nb + 1, 22))
    J[np.arange(len(ok)), ok] = 1.0 / sig
    J[r0:rb, :21] = (np.eye(21) - 1.0 / 21) / o.model_sigma_m
    J[r0:rb, 21] = -(z_mono - z_mono.mean()) / o.model_sigma_m
    J[rb : rb + nb, 21] = -bones / o.bone_sigma_m
    J[-1, 21] = 1.0 / o.scale_sigma
    x = np.append(s_init * z_mono, s_init)
    for _ in range(iterations):
        z, s = x[:21], x[21]
        d = rays[_CHILD] * z[_CHILD, None] - rays[_PARENT] * z[_PARENT, None]
        L = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        rel = z - s * z_mono
        active = occl[oc] > z[oc]
        r = np.concatenate([
            (z[ok] - meas[ok]) / sig,
            np.where(active, (occl[oc] - z[oc]) / o.noise_m, 0.0),
            (rel - rel.mean()) / o.model_sigma_m,
            (L - s * bones) / o.bone_sigma_m,
            [(s - 1.0) / o.scale_sigma],
        ])
        J[len(ok) + np.arange(len(oc)), oc] = np.where(active, -1.0 / o.noise_m, 0.0)
        J[rb + np.arange(nb), _CHILD] = np.einsum("ij,ij->i", rays[_CHILD], d) / L / o.bone_sigma_m
        J[rb + np.arange(nb), _PARENT] = -np.einsum("ij,ij->i", rays[_PARENT], d) / L / o.bone_sigma_m
        w = 1.0 / np.sqrt(1.0 + (r / _ROBUST) ** 2)  # soft-L1 IRLS weights
        Jw = J * w[:, None]
        step = np.linalg.solve(Jw.T @ J + 1e-9 * np.eye(22), -(Jw.T @ r))
        x = x + step
        if np.abs(step[:21]).max() < 1e-5:
            break
    return x[:21], float(x[21])


def lift(
    result: HandsResult, intrinsics: CameraIntrinsics | None, depth_m: np.ndarray | None = None, options: LiftOptions | None = None
) -> HandsResult:
    """Lift every hand of ``result`` (see :func:`lift_hand`). Without ``intrinsics``, a 60° field
    of view is assumed (flag ``"intrinsics_assumed"``)."""
    flags: list[str] = []
    if intrinsics is None:
        intrinsics = default_intrinsics(*result.image_size)
        flags.append("intrinsics_assumed")
    if depth_m is None:
        flags.append("no_depth")
    elif depth_m.shape != (result.image_size[1], result.image_size[0]):
        raise CalibrationError(
            f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]} but the colour image is "
            f"{result.image_size[0]}x{result.image_size[1]}: register depth to colour first (register_depth)"
        )
    hands = tuple(lift_hand(h, intrinsics, depth_m, options) for h in result.hands)
    return result.with_(hands=hands, add_flags=flags)


def register_depth(
    depth_m: np.ndarray, depth_K: CameraIntrinsics, color_K: CameraIntrinsics, T_color_depth: np.ndarray
) -> np.ndarray:
    """Depth reprojected into the colour camera (same size as colour, metres, 0 = no data; the
    nearest surface wins where several depth pixels land on one colour pixel)."""
    v, u = np.nonzero(depth_m > 0)
    z = depth_m[v, u].astype(np.float64)
    pts = _rays(depth_K, np.column_stack([u, v]).astype(np.float64)) * z[:, None]
    pts = pts @ T_color_depth[:3, :3].T + T_color_depth[:3, 3]
    front = pts[:, 2] > 1e-3
    pts = pts[front]
    uv = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), color_K.K, np.array(color_K.distortion) if color_K.has_distortion else None)[0].reshape(-1, 2)
    ui, vi = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
    inside = (ui >= 0) & (ui < color_K.width) & (vi >= 0) & (vi < color_K.height)
    out = np.full(color_K.height * color_K.width, np.inf)
    np.minimum.at(out, vi[inside] * color_K.width + ui[inside], pts[inside, 2])
    out[~np.isfinite(out)] = 0.0
    return out.reshape(color_K.height, color_K.width).astype(np.float32)
