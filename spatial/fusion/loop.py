"""Keyframes, place recognition, relocalisation and loop closure.

* Each :class:`Keyframe` keeps a small blurred thumbnail (the global descriptor: normalised
  cross-correlation between thumbnails ranks candidate places, as in PTAM and Glocker et al.'s
  keyframe relocalisation), ORB features with their 3D points from depth, and its reduced depth
  and intensity for ICP.
* :func:`match` estimates the relative pose of two views from ORB matches by RANSAC over 3-point
  rigid fits (metric depth makes it 3D–3D), :func:`refine` polishes it with dense ICP.
* :func:`optimize_pose_graph` spreads loop corrections over keyframe poses (gtsam
  Levenberg–Marquardt, robust loop edges).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from sensors.types import CameraIntrinsics

from .geometry import inv, rotation_angle
from .icp import IcpConfig, IcpResult, SourcePyramid, TargetPyramid, align, normal_map, vertex_map

THUMB = (40, 30)


def thumbnail(gray_u8: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-norm blurred 40x30 thumbnail (the global place descriptor)."""
    t = cv2.resize(gray_u8, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    t = cv2.GaussianBlur(t, (5, 5), 1.5).reshape(-1)
    t -= t.mean()
    n = np.linalg.norm(t)
    return t / n if n > 1e-6 else t


@dataclass
class Features:
    """ORB features with depth: pixel coordinates (N, 2), camera-frame points (N, 3), descriptors."""

    pixels: np.ndarray
    points: np.ndarray
    descriptors: np.ndarray


_ORB = None


def features(gray_u8: np.ndarray, depth: np.ndarray, K: CameraIntrinsics) -> Features:
    """Up to 1500 ORB keypoints of ``gray_u8`` that have valid depth, back-projected to 3D.
    ``depth`` and its intrinsics ``K`` may be smaller than the image by a power of two. The FAST
    threshold is low (7) so that weakly textured indoor views still give enough matches to
    relocalise (with the default 20, a simulated room gave 80-200 features and too few matches)."""
    global _ORB
    if _ORB is None:
        _ORB = cv2.ORB_create(nfeatures=1500, scaleFactor=1.2, nlevels=4, edgeThreshold=15, patchSize=15, fastThreshold=7)
    kps, desc = _ORB.detectAndCompute(gray_u8, None)
    if desc is None or not kps:
        return Features(np.zeros((0, 2)), np.zeros((0, 3)), np.zeros((0, 32), np.uint8))
    s = depth.shape[1] / gray_u8.shape[1]
    uv = (np.array([k.pt for k in kps], np.float64) + 0.5) * s - 0.5  # depth-image pixels
    ui = np.clip(np.rint(uv[:, 0]).astype(int), 0, depth.shape[1] - 1)
    vi = np.clip(np.rint(uv[:, 1]).astype(int), 0, depth.shape[0] - 1)
    z = depth[vi, ui]
    ok = z > 0
    uv, z, desc = uv[ok], z[ok], desc[ok]
    pts = np.stack([(uv[:, 0] - K.cx) * z / K.fx, (uv[:, 1] - K.cy) * z / K.fy, z], 1)
    return Features(uv, pts, desc)


@dataclass
class Keyframe:
    """A frame kept for relocalisation and loop closure (reduced resolution)."""

    index: int
    timestamp_ns: int
    T_map_camera: np.ndarray
    depth: np.ndarray
    gray: np.ndarray  # uint8
    K: CameraIntrinsics
    thumb: np.ndarray = field(repr=False)
    feats: Features = field(repr=False)

    @classmethod
    def create(cls, index: int, timestamp_ns: int, T: np.ndarray, depth: np.ndarray, gray_u8: np.ndarray, K: CameraIntrinsics,
               feature_gray: np.ndarray | None = None) -> Keyframe:
        """``gray_u8`` matches ``depth``; ORB runs on ``feature_gray`` (a larger image) when given."""
        fg = gray_u8 if feature_gray is None else feature_gray
        return cls(index, timestamp_ns, np.array(T, float), depth, gray_u8, K, thumbnail(gray_u8), features(fg, depth, K))

    def target(self, levels: int = 3) -> TargetPyramid:
        V = vertex_map(self.depth, self.K)
        return TargetPyramid.build(V, normal_map(V), self.gray.astype(np.float32) / 255, self.K, levels)

    def source(self, levels: int = 3) -> SourcePyramid:
        return SourcePyramid.build(self.depth, np.dstack([self.gray] * 3), self.K, 1.0, levels)


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rigid T with b ≈ R a + t."""
    ma, mb = a.mean(0), b.mean(0)
    U, _, Vt = np.linalg.svd((b - mb).T @ (a - ma))
    S = np.eye(3)
    S[2, 2] = np.sign(np.linalg.det(U @ Vt))
    R = U @ S @ Vt
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, mb - R @ ma
    return T


def match(a: Features, b: Features, rng: np.random.Generator, threshold_m: float = 0.03, iterations: int = 300,
          ratio: float = 0.8) -> tuple[np.ndarray, int]:
    """``(T_a_b, inliers)``: the rigid motion taking ``b``'s points into ``a``'s camera frame from
    ORB matches (Lowe ratio test) by 3-point RANSAC; ``inliers`` 0 when there is no consensus."""
    if len(a.descriptors) < 8 or len(b.descriptors) < 8:
        return np.eye(4), 0
    bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = bf.knnMatch(b.descriptors, a.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    if len(good) < 6:
        return np.eye(4), 0
    pb = b.points[[m.queryIdx for m in good]]
    pa = a.points[[m.trainIdx for m in good]]
    best, best_n = None, 0
    n = len(good)
    for _ in range(iterations):
        idx = rng.choice(n, 3, replace=False)
        if np.linalg.norm(np.cross(pb[idx[1]] - pb[idx[0]], pb[idx[2]] - pb[idx[0]])) < 1e-4:
            continue
        T = _kabsch(pb[idx], pa[idx])
        err = np.linalg.norm(pb @ T[:3, :3].T + T[:3, 3] - pa, axis=1)
        inl = err < threshold_m
        k = int(inl.sum())
        if k > best_n:
            best, best_n = inl, k
    if best is None or best_n < 6:
        return np.eye(4), 0
    T = _kabsch(pb[best], pa[best])
    err = np.linalg.norm(pb @ T[:3, :3].T + T[:3, 3] - pa, axis=1)
    inl = err < threshold_m
    return (_kabsch(pb[inl], pa[inl]) if inl.sum() >= 3 else T), int(inl.sum())


def refine(target: TargetPyramid, source: SourcePyramid, T_init: np.ndarray) -> IcpResult:
    """Dense ICP (geometry and intensity) of ``source`` onto ``target`` from ``T_init``."""
    cfg = IcpConfig(iterations=(8, 6, 4), max_dist_m=(0.15, 0.08, 0.04), huber_m=0.05, photometric_weight=0.0,
                    depth_weighting=True)
    return align(source, target, T_init, cfg)


class KeyframeDatabase:
    """Keyframes in insertion order with thumbnail-based retrieval."""

    def __init__(self) -> None:
        self.keyframes: list[Keyframe] = []
        self._thumbs: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.keyframes)

    def add(self, kf: Keyframe) -> None:
        self.keyframes.append(kf)
        self._thumbs.append(kf.thumb)

    def similar(self, thumb: np.ndarray, k: int = 3, exclude_last: int = 0, min_score: float = 0.5) -> list[tuple[int, float]]:
        """Indices (into ``keyframes``) and NCC scores of the ``k`` most similar keyframes,
        ignoring the newest ``exclude_last``."""
        m = len(self._thumbs) - exclude_last
        if m <= 0:
            return []
        s = np.stack(self._thumbs[:m]) @ thumb
        order = np.argsort(-s)[:k]
        return [(int(i), float(s[i])) for i in order if s[i] >= min_score]


def pose_sigmas(trans_m: float, rot_rad: float) -> np.ndarray:
    return np.array([rot_rad] * 3 + [trans_m] * 3)


def optimize_pose_graph(poses: list[np.ndarray], loops: list[tuple[int, int, np.ndarray]],
                        odo_sigma: tuple[float, float] = (0.005, 0.003), loop_sigma: tuple[float, float] = (0.01, 0.005)) -> list[np.ndarray]:
    """Keyframe poses after pose-graph optimisation: consecutive odometry edges from the current
    poses, loop edges ``(i, j, T_i_j)`` (Huber-robust beyond 5 sigma, so a bad loop cannot drag the
    map far but a long drift is still corrected), the first pose held fixed. Sigmas are
    (metres, radians)."""
    import gtsam

    g = gtsam.NonlinearFactorGraph()
    vals = gtsam.Values()
    odo = gtsam.noiseModel.Diagonal.Sigmas(pose_sigmas(*odo_sigma))
    loop = gtsam.noiseModel.Robust.Create(gtsam.noiseModel.mEstimator.Huber.Create(5.0),
                                          gtsam.noiseModel.Diagonal.Sigmas(pose_sigmas(*loop_sigma)))
    g.add(gtsam.PriorFactorPose3(0, gtsam.Pose3(poses[0]), gtsam.noiseModel.Diagonal.Sigmas(pose_sigmas(1e-4, 1e-4))))
    for i, T in enumerate(poses):
        vals.insert(i, gtsam.Pose3(T))
        if i:
            g.add(gtsam.BetweenFactorPose3(i - 1, i, gtsam.Pose3(inv(poses[i - 1]) @ T), odo))
    for i, j, T_ij in loops:
        g.add(gtsam.BetweenFactorPose3(i, j, gtsam.Pose3(T_ij), loop))
    res = gtsam.LevenbergMarquardtOptimizer(g, vals).optimize()
    return [res.atPose3(i).matrix() for i in range(len(poses))]


def loop_consistent(T_est: np.ndarray, T_meas: np.ndarray, max_m: float = 0.5, max_deg: float = 30.0) -> bool:
    """Whether a loop measurement is plausible given the current (drifted) estimate."""
    D = inv(T_est) @ T_meas
    return float(np.linalg.norm(D[:3, 3])) < max_m and np.degrees(rotation_angle(D)) < max_deg
