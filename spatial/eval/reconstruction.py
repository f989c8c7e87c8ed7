"""Reconstruction metrics: accuracy, completeness and precision/recall/F-score at distance
thresholds between a predicted and a reference surface (mesh or point cloud).

Both surfaces are sampled uniformly by area (meshes) or subsampled (clouds) with a seeded
generator; each side's samples are then measured against the other surface: exact
point-to-triangle distances when it is a mesh (Open3D ``RaycastingScene``), nearest-neighbour
distances to its points when it is a cloud (scipy ``cKDTree``). As in Knapitsch et al. (Tanks
and Temples, 2017):

* accuracy: mean distance from predicted samples to the reference (lower is better);
* completeness: mean distance from reference samples to the prediction;
* precision@τ / recall@τ: the fraction of predicted / reference samples within τ of the other
  surface; F-score@τ = 2PR / (P + R).

A reference can also hold surfaces the camera never saw (a synthetic room's full mesh):
:func:`visible_mask` keeps the reference samples visible from the camera poses, so
completeness measures what could have been reconstructed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from sensors.errors import ConfigError, EmptySessionError
from sensors.types import CameraIntrinsics

from ..scene.geometry import Mesh, PointCloud

DEFAULT_THRESHOLDS_M = (0.01, 0.02, 0.05)

Surface = Mesh | PointCloud | np.ndarray


def sample_surface(surface: Surface, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points (float64, (n, 3)) uniformly distributed over a mesh's area, or a random
    subset of a cloud's points (all of them when it has at most ``n``)."""
    rng = np.random.default_rng(seed)
    if isinstance(surface, Mesh):
        if surface.is_empty:
            return np.zeros((0, 3))
        tri = surface.vertices.astype(np.float64)[surface.triangles]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        if area.sum() <= 0:
            return np.zeros((0, 3))
        pick = rng.choice(len(tri), size=n, p=area / area.sum())
        r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
        a, b, c = tri[pick, 0], tri[pick, 1], tri[pick, 2]
        return (1 - r1)[:, None] * a + (r1 * (1 - r2))[:, None] * b + (r1 * r2)[:, None] * c
    points = np.asarray(surface.points if isinstance(surface, PointCloud) else surface, dtype=np.float64).reshape(-1, 3)
    if len(points) <= n:
        return points
    return points[rng.choice(len(points), size=n, replace=False)]


def visible_mask(
    points: np.ndarray,
    mesh: Mesh,
    T_world_cameras: np.ndarray,
    intrinsics: CameraIntrinsics,
    depth_min_m: float = 0.1,
    depth_max_m: float = 4.0,
    tolerance_m: float = 0.03,
    scale: float = 0.25,
) -> np.ndarray:
    """Which ``points`` (on ``mesh``) some camera sees: inside its image and depth range and
    not hidden behind ``mesh`` (compared with a depth map raycast at ``scale`` of the image
    size, within ``tolerance_m``)."""
    import open3d as o3d

    K = intrinsics.scaled(scale)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(mesh.vertices), o3d.core.Tensor(mesh.triangles.astype(np.uint32)))
    u, v = np.meshgrid(np.arange(K.width), np.arange(K.height))
    rays_cam = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1).reshape(-1, 3)
    seen = np.zeros(len(points), bool)
    for T in np.asarray(T_world_cameras).reshape(-1, 4, 4):
        d = rays_cam @ T[:3, :3].T
        rays = np.hstack([np.broadcast_to(T[:3, 3], d.shape), d]).astype(np.float32)
        depth = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy().reshape(K.height, K.width)  # z, as |ray z| = 1
        p = (points - T[:3, 3]) @ T[:3, :3]
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            px = np.round(K.fx * p[:, 0] / z + K.cx).astype(np.int64, copy=False)
            py = np.round(K.fy * p[:, 1] / z + K.cy).astype(np.int64, copy=False)
        ok = (z > depth_min_m) & (z < depth_max_m) & (px >= 0) & (px < K.width) & (py >= 0) & (py < K.height)
        i = np.flatnonzero(ok & ~seen)
        seen[i] = z[i] <= depth[py[i], px[i]] + tolerance_m
    return seen


def distance_to(surface: Surface, points: np.ndarray) -> np.ndarray:
    """Unsigned distance (metres) from each of ``points`` to ``surface``: to the nearest
    triangle of a mesh, or to the nearest point of a cloud."""
    if isinstance(surface, Mesh):
        import open3d as o3d

        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(surface.vertices), o3d.core.Tensor(surface.triangles.astype(np.uint32)))
        return scene.compute_distance(o3d.core.Tensor(points.astype(np.float32))).numpy().astype(np.float64)
    cloud = surface.points if isinstance(surface, PointCloud) else np.asarray(surface).reshape(-1, 3)
    return cKDTree(cloud).query(points, workers=-1)[0]


@dataclass(frozen=True)
class ReconstructionMetrics:
    """Accuracy and completeness (mean distances, metres) and, per threshold (metres),
    precision, recall and F-score in [0, 1]."""

    accuracy_m: float
    completeness_m: float
    thresholds_m: tuple[float, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    fscore: tuple[float, ...]
    samples: tuple[int, int]

    def at(self, threshold_m: float) -> tuple[float, float, float]:
        """(precision, recall, F-score) at one of the thresholds."""
        k = int(np.argmin(np.abs(np.asarray(self.thresholds_m) - threshold_m)))
        if not np.isclose(self.thresholds_m[k], threshold_m):
            raise ConfigError(f"threshold {threshold_m} m was not evaluated (have {self.thresholds_m})")
        return self.precision[k], self.recall[k], self.fscore[k]

    def to_dict(self) -> dict:
        out: dict = {"accuracy_m": self.accuracy_m, "completeness_m": self.completeness_m}
        for t, p, r, f in zip(self.thresholds_m, self.precision, self.recall, self.fscore):
            tag = f"{t * 100:g}cm"
            out.update({f"precision_{tag}": p, f"recall_{tag}": r, f"fscore_{tag}": f})
        out["samples_pred"], out["samples_ref"] = self.samples
        return out


def reconstruction_metrics(
    predicted: Surface,
    reference: Surface,
    thresholds_m: tuple[float, ...] = DEFAULT_THRESHOLDS_M,
    samples: int = 200_000,
    seed: int = 0,
    reference_mask: np.ndarray | None = None,
) -> ReconstructionMetrics:
    """Compare ``predicted`` with ``reference`` (see the module docstring). ``reference_mask``
    optionally selects reference samples, e.g. from :func:`visible_mask` applied to
    ``sample_surface(reference, samples, seed + 1)``, which are the samples used here."""
    if samples < 1 or not thresholds_m or min(thresholds_m) <= 0:
        raise ConfigError(f"need samples >= 1 and positive thresholds, got {samples} and {thresholds_m}")
    pred = sample_surface(predicted, samples, seed)
    ref = sample_surface(reference, samples, seed + 1)
    if reference_mask is not None:
        if len(reference_mask) != len(ref):
            raise ConfigError(f"reference_mask has {len(reference_mask)} entries for {len(ref)} reference samples")
        ref = ref[reference_mask]
    if not len(pred) or not len(ref):
        raise EmptySessionError(f"cannot compare empty surfaces ({len(pred)} predicted, {len(ref)} reference samples)")
    d_pred = distance_to(reference, pred)  # accuracy side
    d_ref = distance_to(predicted, ref)  # completeness side
    th = tuple(float(t) for t in thresholds_m)
    p = tuple(float(np.mean(d_pred < t)) for t in th)
    r = tuple(float(np.mean(d_ref < t)) for t in th)
    f = tuple(2 * a * b / (a + b) if a + b > 0 else 0.0 for a, b in zip(p, r))
    return ReconstructionMetrics(float(d_pred.mean()), float(d_ref.mean()), th, p, r, f, (len(pred), len(ref)))
