"""Dense RGB-D alignment: coarse-to-fine projective point-to-plane ICP with a photometric term.

The *source* is a live frame (:class:`SourcePyramid`: valid pixels as 3D points in its camera
frame, with their intensities). The *target* is a rendered view (:class:`TargetPyramid`: vertex
and normal maps in the target camera frame, intensity and its gradients), usually the TSDF
raycast at the predicted pose (frame-to-model tracking) but any RGB-D frame works.

Each Gauss-Newton step minimises over the twist ``ξ`` (target frame, applied on the left)

    Σ ρ_g(n·(p − q)) + λ Σ ρ_i(I_t(π(p)) − I_s)      with p = exp(ξ) T x_s

using projective data association (the target pixel the transformed source point projects to),
Huber weights ``ρ``, rejection of pairs farther apart than ``max_dist_m`` and Levenberg damping
so that directions the data leave unconstrained (a single plane, a textureless wall) stay at the
initial guess — or at a prior (an IMU prediction) when one is given. Everything is vectorised
numpy; the result carries the quality figures failure detection needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from sensors.types import CameraIntrinsics, orthonormalize

from .geometry import se3_exp


def half(K: CameraIntrinsics) -> CameraIntrinsics:
    """Intrinsics of the next pyramid level (2x2 blocks averaged; an odd last row or column is
    dropped). Distortion is not carried: the pyramids are pinhole."""
    return CameraIntrinsics(K.fx / 2, K.fy / 2, (K.cx + 0.5) / 2 - 0.5, (K.cy + 0.5) / 2 - 0.5, K.width // 2, K.height // 2)


def downsample_depth(depth: np.ndarray, max_spread: float = 0.04) -> np.ndarray:
    """Half-size depth: the mean of each 2x2 block, invalid (0) unless all four pixels are valid
    and within ``max_spread`` x depth + 1 cm of each other (no averaging across edges; the
    relative bound leaves sensor noise, which grows with depth, alone)."""
    h, w = depth.shape[0] // 2 * 2, depth.shape[1] // 2 * 2
    a, b, c, d = depth[0:h:2, 0:w:2], depth[0:h:2, 1:w:2], depth[1:h:2, 0:w:2], depth[1:h:2, 1:w:2]
    hi = np.maximum(np.maximum(a, b), np.maximum(c, d))
    lo = np.minimum(np.minimum(a, b), np.minimum(c, d))
    mean = (a + b + c + d) * np.float32(0.25)
    ok = (lo > 0) & (hi - lo <= np.float32(max_spread) * lo + np.float32(0.01))
    return np.where(ok, mean, np.float32(0)).astype(np.float32, copy=False)


def downsample_image(img: np.ndarray) -> np.ndarray:
    """Half-size float image by 2x2 averaging."""
    return cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)


def gray(color: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Float32 intensity in [0, 1] of an RGB uint8 image resized to ``shape`` (zeros without colour)."""
    if color is None:
        return np.zeros(shape, np.float32)
    g = cv2.cvtColor(color, cv2.COLOR_RGB2GRAY)
    if g.shape != shape:
        g = cv2.resize(g, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return g.astype(np.float32) * np.float32(1 / 255)


def gradients(intensity: np.ndarray) -> np.ndarray:
    """(H, W, 3) stack of intensity, d/du and d/dv (per pixel)."""
    gx = cv2.Sobel(intensity, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(intensity, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return np.dstack([intensity, gx, gy])


@dataclass
class SourceLevel:
    """Valid pixels of one level: points (N, 3) in the camera frame and intensities (N,), and
    the (H, W, 3) vertex map (NaN where invalid)."""

    K: CameraIntrinsics
    points: np.ndarray
    intensity: np.ndarray
    depth: np.ndarray  # (H, W) the level's depth image
    vertex: np.ndarray
    image: np.ndarray  # (H, W) intensity in [0, 1]


def _backproject(depth: np.ndarray, K: CameraIntrinsics, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    d = depth[::stride, ::stride]
    v, u = np.nonzero(d > 0)
    z = d[v, u]
    u, v = u * stride, v * stride
    pts = np.stack([(u - K.cx) * z / K.fx, (v - K.cy) * z / K.fy, z], -1).astype(np.float32)
    return pts, v * K.width + u


@dataclass
class SourcePyramid:
    """A live frame prepared for alignment, finest level first."""

    levels: list[SourceLevel]
    valid_fraction: float  # of the finest level's pixels with depth
    mean_intensity: float
    intensity_std: float

    @classmethod
    def build(cls, depth_m: np.ndarray, color: np.ndarray | None, K, scale: float = 0.5, levels: int = 3,
              depth_min_m: float = 0.1, depth_max_m: float = 4.0, stride: int = 1) -> SourcePyramid:
        """``depth_m``/``color`` at the intrinsics ``K``; the finest level is ``scale`` of that size
        (0.5 or 1), each next level half the previous. ``stride`` subsamples the finest level's points."""
        d = np.where((depth_m >= depth_min_m) & (depth_m <= depth_max_m), depth_m, 0).astype(np.float32)
        Kl = K
        while scale < 0.99:
            d = downsample_depth(d)
            Kl = half(Kl)
            scale *= 2
        inten = gray(color, d.shape)
        out = []
        for lv in range(levels):
            pts, idx = _backproject(d, Kl, stride if lv == 0 else 1)
            V = vertex_map(d, Kl)
            V[d <= 0] = np.nan
            out.append(SourceLevel(Kl, pts, inten.reshape(-1)[idx], d, V, inten))
            if lv + 1 < levels:
                d, inten, Kl = downsample_depth(d), downsample_image(inten), half(Kl)
        lv0 = out[0]
        valid = float((lv0.depth > 0).mean())
        return cls(out, valid, float(lv0.intensity.mean()) if len(lv0.intensity) else 0.0,
                   float(lv0.intensity.std()) if len(lv0.intensity) else 0.0)


@dataclass
class TargetLevel:
    """One level of a rendered view, maps flattened to (H*W, ·)."""

    K: CameraIntrinsics
    vertex: np.ndarray  # (H*W, 3) target camera frame, NaN where empty
    normal: np.ndarray  # (H*W, 3)
    photo: np.ndarray | None  # (H*W, 3) intensity, d/du, d/dv
    image: np.ndarray | None = None  # (H, W) intensity


@dataclass
class TargetPyramid:
    levels: list[TargetLevel]

    @classmethod
    def build(cls, vertex: np.ndarray, normal: np.ndarray, intensity: np.ndarray | None, K: CameraIntrinsics,
              levels: int = 3) -> TargetPyramid:
        """From (H, W, 3) vertex and normal maps (target camera frame; zero/NaN depth = empty)
        and an optional (H, W) intensity image, at intrinsics ``K``."""
        v = vertex.astype(np.float32, copy=True)
        n = normal.astype(np.float32, copy=False)
        bad = ~(v[..., 2] > 0) | ~np.isfinite(n).all(-1)
        v[bad] = np.nan
        out = []
        inten = intensity
        for lv in range(levels):
            photo = gradients(inten).reshape(-1, 3) if inten is not None else None
            out.append(TargetLevel(K, v.reshape(-1, 3), n.reshape(-1, 3), photo, inten))
            if lv + 1 < levels:
                h2, w2 = v.shape[0] // 2 * 2, v.shape[1] // 2 * 2
                v, n, K = v[:h2:2, :w2:2], n[:h2:2, :w2:2], half(K)
                v = np.ascontiguousarray(v)
                n = np.ascontiguousarray(n)
                if inten is not None:
                    inten = downsample_image(inten)
                    inten = inten[: v.shape[0], : v.shape[1]]
        return cls(out)


@dataclass(frozen=True)
class IcpConfig:
    """Iterations per level (coarsest first), association distance per level (metres, coarsest
    first), Huber thresholds, photometric weight ``λ`` (0 = geometry only) and damping."""

    iterations: tuple[int, ...] = (6, 4, 3)
    max_dist_m: tuple[float, ...] = (0.12, 0.08, 0.05)
    huber_m: float = 0.05
    huber_intensity: float = 0.05
    photometric_weight: float = 0.02
    damping: float = 1e-4
    min_points: int = 200
    converge_rad: float = 2e-5
    converge_m: float = 2e-5
    depth_weighting: bool = False
    refine_iterations: int = 0
    refine_level: int = 1


@dataclass(frozen=True)
class IcpResult:
    """``T`` maps source-camera points into the target camera frame.

    ``overlap``: share of the source's valid points that land on target pixels with a surface;
    ``inlier_ratio``: share of those within the distance gate; ``rmse_m``: point-to-plane RMS of
    the inliers; ``hessian``: the final 6x6 geometric normal matrix (twists ``(ω, v)`` in the
    target frame, residuals in metres); ``constraint``: the geometric information in the
    weakest direction per point (see :func:`_constraint`) — near 0 means degenerate geometry (a
    plane, a corridor); ``ok`` false when too few points were associated."""

    T: np.ndarray
    inlier_ratio: float
    rmse_m: float
    hessian: np.ndarray = field(repr=False)
    constraint: float
    iterations: int
    n_inliers: int
    ok: bool
    overlap: float = 0.0


def _step(src: SourceLevel, tgt: TargetLevel, T: np.ndarray, cfg: IcpConfig, max_dist: float, lam: float):
    """One linearisation: (H, b, n_inliers, sum sq point-to-plane, Hg, n_overlap) — ``n_overlap``
    counts source points that land on target pixels with a surface."""
    K = tgt.K
    R, t = T[:3, :3].astype(np.float32), T[:3, 3].astype(np.float32)
    p = src.points @ R.T + t
    z = p[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uf = p[:, 0] * np.float32(K.fx) / z + np.float32(K.cx)
        vf = p[:, 1] * np.float32(K.fy) / z + np.float32(K.cy)
    ui = np.rint(uf)
    vi = np.rint(vf)
    inside = (z > 0.05) & (ui >= 0) & (ui <= K.width - 1) & (vi >= 0) & (vi <= K.height - 1)
    sel = np.flatnonzero(inside)
    pix = ui[sel].astype(np.int64) + vi[sel].astype(np.int64) * K.width
    q = tgt.vertex[pix]
    nrm = tgt.normal[pix]
    ps = p[sel]
    diff = ps - q
    dist2 = np.einsum("ij,ij->i", diff, diff)
    n_overlap = int(np.isfinite(dist2).sum())
    good = dist2 < max_dist * max_dist  # NaN (empty target) compares False
    sel, ps, nrm, diff = sel[good], ps[good], nrm[good], diff[good]
    r = np.einsum("ij,ij->i", diff, nrm)
    a = np.abs(r)
    w = np.where(a <= cfg.huber_m, np.float32(1), cfg.huber_m / np.maximum(a, 1e-12)).astype(np.float32)
    if cfg.depth_weighting:  # inverse variance of structured-light depth noise (Nguyen et al. 2012), 1 at 1 m
        z = ps[:, 2]
        sig = np.float32(0.0012) + np.float32(0.0019) * (z - np.float32(0.4)) ** 2
        w *= (np.float32(0.00188) / sig) ** 2
    J = np.empty((len(r), 6), np.float32)
    J[:, :3] = np.cross(ps, nrm)
    J[:, 3:] = nrm
    Jw = J * w[:, None]
    Hg = (Jw.T @ J).astype(np.float64)
    b = -(Jw.T @ r).astype(np.float64)
    H = Hg.copy()
    if lam > 0 and tgt.photo is not None and len(sel):
        photo = _bilinear(tgt.photo, uf[sel], vf[sel], K)
        ok = np.isfinite(photo[:, 0])
        if ok.any():
            ps2, ph = ps[ok], photo[ok]
            ri = ph[:, 0] - src.intensity[sel[ok]]
            zz = ps2[:, 2]
            gu, gv = ph[:, 1] * np.float32(K.fx) / zz, ph[:, 2] * np.float32(K.fy) / zz
            gw = np.stack([gu, gv, -(gu * ps2[:, 0] + gv * ps2[:, 1]) / zz], -1)
            Ji = np.empty((len(ri), 6), np.float32)
            Ji[:, :3] = np.cross(ps2, gw)
            Ji[:, 3:] = gw
            ai = np.abs(ri)
            wi = np.where(ai <= cfg.huber_intensity, np.float32(1), cfg.huber_intensity / np.maximum(ai, 1e-12))
            wi = (wi * lam).astype(np.float32)
            Jiw = Ji * wi[:, None]
            H += (Jiw.T @ Ji).astype(np.float64)
            b -= (Jiw.T @ ri).astype(np.float64)
    return H, b, len(r), float(r @ r), Hg, n_overlap


def _bilinear(img: np.ndarray, u: np.ndarray, v: np.ndarray, K: CameraIntrinsics) -> np.ndarray:
    """Bilinear lookup of a flattened (H*W, C) image at float pixel coordinates (NaN outside)."""
    u0 = np.clip(np.floor(u), 0, K.width - 2)
    v0 = np.clip(np.floor(v), 0, K.height - 2)
    au, av = (u - u0)[:, None], (v - v0)[:, None]
    i = u0.astype(np.int64) + v0.astype(np.int64) * K.width
    out = (img[i] * (1 - au) + img[i + 1] * au) * (1 - av) + (img[i + K.width] * (1 - au) + img[i + K.width + 1] * au) * av
    out[(u < 0) | (v < 0) | (u > K.width - 1) | (v > K.height - 1)] = np.nan
    return out


def _constraint(H: np.ndarray, depth_m: float, n: int) -> float:
    """Information in the weakest direction per associated point: the smallest eigenvalue of
    ``H / n`` with rotations scaled to metres at ``depth_m``. For translations it is the mean
    squared normal component along that direction (1/3 for normals spread evenly, 0 for one plane
    or two: a wall, a corridor); rotations about the view axis count by the points' spread."""
    if n <= 0:
        return 0.0
    Si = np.diag([1 / depth_m] * 3 + [1.0] * 3)
    return float(max(np.linalg.eigvalsh(Si @ H @ Si)[0], 0.0) / n)


def align(source: SourcePyramid, target: TargetPyramid, T_init: np.ndarray, config: IcpConfig = IcpConfig(),
          prior: tuple[np.ndarray, np.ndarray] | None = None, photometric: bool = True) -> IcpResult:
    """Align ``source`` to ``target`` starting from ``T_init`` (source camera → target camera).

    ``prior``: ``(T_prior, information)`` — a predicted pose with a 6x6 information matrix on
    twists ``(ω, v)`` (target frame), added to the normal equations (an IMU prediction).
    ``photometric``: use the intensity term (turned off for dark or colourless frames)."""
    T = np.array(T_init, dtype=np.float64)
    nlev = min(len(source.levels), len(target.levels), len(config.iterations))
    its = 0
    H = np.zeros((6, 6))
    Hg = np.zeros((6, 6))
    n_in, sse = 0, 0.0
    for lv in reversed(range(nlev)):
        src, tgt = source.levels[lv], target.levels[lv]
        maxd = config.max_dist_m[nlev - 1 - lv] if nlev - 1 - lv < len(config.max_dist_m) else config.max_dist_m[-1]
        # photometric residuals are per pixel: scale λ so that its share is level-independent
        lam = config.photometric_weight if photometric else 0.0
        for _ in range(config.iterations[nlev - 1 - lv]):
            if len(src.points) < config.min_points:
                break
            H, b, n_in, sse, Hg, _ = _step(src, tgt, T, config, maxd, lam)
            its += 1
            if n_in < config.min_points:
                break
            if prior is not None:
                Tp, info = prior
                e = _twist_between(T, Tp)
                H = H + info
                b = b + info @ e
            d = np.diag(H).copy()
            dx = np.linalg.solve(H + config.damping * np.diag(np.maximum(d, 1e-9)) + 1e-9 * np.eye(6), b)
            T = orthonormalize(se3_exp(dx) @ T)
            if np.linalg.norm(dx[:3]) < config.converge_rad and np.linalg.norm(dx[3:]) < config.converge_m:
                break
    src0 = source.levels[0]
    n_src = max(len(src0.points), 1)
    if its:  # figures at the final estimate on the finest level
        maxd = config.max_dist_m[-1]
        H, _, n_in, sse, Hg, n_ov = _step(src0, target.levels[0], T, replace(config, depth_weighting=False), maxd,
                                          config.photometric_weight if photometric else 0.0)
    med_depth = float(np.median(src0.points[:, 2])) if len(src0.points) else 1.0
    ok = n_in >= config.min_points
    return IcpResult(T, n_in / max(n_ov, 1), float(np.sqrt(sse / max(n_in, 1))), Hg,
                     _constraint(Hg, med_depth, n_in) if ok else 0.0, its, n_in, ok, n_ov / n_src)


def _twist_between(T: np.ndarray, T_target: np.ndarray) -> np.ndarray:
    """Left twist ξ with exp(ξ) T ≈ T_target (first-order)."""
    from .geometry import so3_log

    D = T_target @ np.linalg.inv(T)
    w = so3_log(D[:3, :3])
    return np.concatenate([w, D[:3, 3]])


def vertex_map(depth: np.ndarray, K: CameraIntrinsics) -> np.ndarray:
    """(H, W, 3) camera-frame points of a depth image (zeros where invalid)."""
    h, w = depth.shape
    u = (np.arange(w, dtype=np.float32) - np.float32(K.cx)) / np.float32(K.fx)
    v = (np.arange(h, dtype=np.float32) - np.float32(K.cy)) / np.float32(K.fy)
    return np.stack([depth * u[None, :], depth * v[:, None], depth], -1)


def normal_map(vertex: np.ndarray, max_jump_m: float = 0.05, smooth: int = 5) -> np.ndarray:
    """(H, W, 3) unit normals facing the camera from central differences of a vertex map,
    averaged over ``smooth`` x ``smooth`` pixels (noisy depth gives noisy normals, which would
    hide degenerate geometry); NaN where a neighbour is missing or across a depth jump."""
    v = np.nan_to_num(vertex.astype(np.float32, copy=False))
    z = v[..., 2]
    dx = np.zeros_like(v)
    dy = np.zeros_like(v)
    dx[:, 1:-1] = v[:, 2:] - v[:, :-2]
    dy[1:-1] = v[2:] - v[:-2]
    ok = z > 0
    ok[:, 1:-1] &= (z[:, 2:] > 0) & (z[:, :-2] > 0) & (np.abs(z[:, 2:] - z[:, :-2]) < max_jump_m)
    ok[1:-1] &= (z[2:] > 0) & (z[:-2] > 0) & (np.abs(z[2:] - z[:-2]) < max_jump_m)
    ok[[0, -1]] = False
    ok[:, [0, -1]] = False
    n = np.empty_like(v)
    n[..., 0] = dy[..., 1] * dx[..., 2] - dy[..., 2] * dx[..., 1]
    n[..., 1] = dy[..., 2] * dx[..., 0] - dy[..., 0] * dx[..., 2]
    n[..., 2] = dy[..., 0] * dx[..., 1] - dy[..., 1] * dx[..., 0]
    n[~ok] = 0
    if smooth > 1:
        n = cv2.boxFilter(n, -1, (smooth, smooth), normalize=False)
    norm = np.sqrt((n * n).sum(-1))
    ok &= norm > 0
    n /= np.where(ok, norm, 1)[..., None]
    flip = (n * v).sum(-1) > 0
    n[flip] *= -1
    n[~ok] = np.nan
    return n


def target_from_frame(depth_m: np.ndarray, color: np.ndarray | None, K, scale: float = 0.5, levels: int = 3,
                      depth_max_m: float = 4.0) -> TargetPyramid:
    """A target pyramid from a live RGB-D frame (frame-to-frame or keyframe alignment)."""
    d = np.where((depth_m > 0) & (depth_m <= depth_max_m), depth_m, 0).astype(np.float32)
    Kl = K
    while scale < 0.99:
        d, Kl, scale = downsample_depth(d), half(Kl), scale * 2
    V = vertex_map(d, Kl)
    return TargetPyramid.build(V, normal_map(V), gray(color, d.shape) if color is not None else None, Kl, levels)


def _hybrid_maps(src: SourceLevel, tgt: TargetLevel, h: int, w: int) -> tuple:
    """Tensors for Open3D's hybrid (depth + intensity) kernel: NaN marks invalid depth and the
    depth gradients next to it; Sobel gradients unscaled (the kernel applies 1/8)."""
    import open3d.core as o3c

    def t(a):
        return o3c.Tensor.from_numpy(np.ascontiguousarray(a[..., None], dtype=np.float32))

    sd = np.where(src.depth > 0, src.depth, np.nan)
    td = tgt.vertex[:, 2].reshape(h, w)
    tz = np.nan_to_num(td)
    ddx = cv2.Sobel(tz, cv2.CV_32F, 1, 0, ksize=3)
    ddy = cv2.Sobel(tz, cv2.CV_32F, 0, 1, ksize=3)
    near = cv2.dilate((~(tz > 0)).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ddx[near] = np.nan
    ddy[near] = np.nan
    ti = tgt.image
    return (t(sd), t(td), t(src.image), t(ti), t(ddx), t(ddy),
            t(cv2.Sobel(ti, cv2.CV_32F, 1, 0, ksize=3)), t(cv2.Sobel(ti, cv2.CV_32F, 0, 1, ksize=3)))


def align_open3d(source: SourcePyramid, target: TargetPyramid, T_init: np.ndarray, config: IcpConfig = IcpConfig(),
                 quality_level: int = -1, hybrid: bool = False) -> IcpResult:
    """:func:`align` with Open3D's C++ point-to-plane kernel for the Gauss-Newton steps (about
    20x faster than numpy; no photometric term, no prior). Quality figures: the inlier ratio
    from the kernel at the finest level; RMS residual and the Hessian from this module's solver
    on ``quality_level`` (default the coarsest, which is cheap). Source and target levels must
    have equal sizes. Open3D's "Singular 6x6 linear system" (nothing constrains the pose) is
    returned as ``ok=False``."""
    import open3d as o3d
    import open3d.core as o3c

    odo = o3d.t.pipelines.odometry
    kernel = odo.compute_odometry_result_point_to_plane
    hybrid = hybrid and target.levels[0].image is not None
    nlev = min(len(source.levels), len(target.levels), len(config.iterations))
    T = o3c.Tensor(np.asarray(T_init, dtype=np.float64))
    its, fitness = 0, 0.0
    try:
        for lv in reversed(range(nlev)):
            src, tgt = source.levels[lv], target.levels[lv]
            K = tgt.K
            h, w = src.vertex.shape[:2]
            sv = o3c.Tensor.from_numpy(src.vertex)
            tv = o3c.Tensor.from_numpy(tgt.vertex.reshape(h, w, 3))
            tn = o3c.Tensor.from_numpy(tgt.normal.reshape(h, w, 3))
            Kt = o3c.Tensor(np.array([[K.fx, 0, K.cx], [0, K.fy, K.cy], [0, 0, 1.0]]))
            i = nlev - 1 - lv
            maxd = config.max_dist_m[i] if i < len(config.max_dist_m) else config.max_dist_m[-1]
            maps = _hybrid_maps(src, tgt, h, w) if hybrid else None
            for _ in range(config.iterations[i]):
                if maps is not None:
                    r = odo.compute_odometry_result_hybrid(*maps, sv, Kt, T, maxd, config.huber_m, config.huber_intensity)
                else:
                    r = kernel(sv, tv, tn, Kt, T, maxd, config.huber_m)
                T = r.transformation @ T
                its += 1
                fitness = r.fitness
    except RuntimeError as exc:
        if "Singular" not in str(exc):
            raise
        return IcpResult(T.numpy(), 0.0, float("inf"), np.zeros((6, 6)), 0.0, its, 0, False)
    T = orthonormalize(T.numpy())
    if config.refine_iterations:  # weighted (and photometric) Gauss-Newton steps with this module's solver
        rl = min(config.refine_level, nlev - 1)
        lam = config.photometric_weight if hybrid else 0.0
        for _ in range(config.refine_iterations):
            H, b, n_in, _, _, _ = _step(source.levels[rl], target.levels[rl], T, config, config.max_dist_m[-1], lam)
            if n_in < config.min_points:
                break
            dx = np.linalg.solve(H + config.damping * np.diag(np.maximum(np.diag(H), 1e-9)) + 1e-9 * np.eye(6), b)
            T = orthonormalize(se3_exp(dx) @ T)
    q = quality_level % nlev
    src, tgt = source.levels[q], target.levels[q]
    maxd = config.max_dist_m[min(nlev - 1 - q, len(config.max_dist_m) - 1)]
    _, _, n_in, sse, Hg, n_ov = _step(src, tgt, T, replace(config, depth_weighting=False), maxd, 0.0)
    ok = n_in >= min(config.min_points, max(len(src.points) // 4, 1)) and fitness > 0
    med = float(np.median(src.points[:, 2])) if len(src.points) else 1.0
    return IcpResult(T, n_in / max(n_ov, 1), float(np.sqrt(sse / max(n_in, 1))), Hg,
                     _constraint(Hg, med, n_in) if ok else 0.0, its, n_in, ok, n_ov / max(len(src.points), 1))
