"""Hand-held scanning motion through a :class:`~sensors.sim.world.SimWorld` as a continuous-time spline.

The camera centre is a quintic B-spline in time (C4, so velocity, acceleration and jerk are
continuous) and the orientation is a quintic spline on (yaw, elevation, roll) angles; both start and
end at rest (zero velocity and acceleration). Everything the IMU needs — angular velocity and
acceleration, linear acceleration — comes analytically from the spline derivatives, so camera poses
and IMU readings describe exactly the same motion.

Frames: world z-up, metres; camera OpenCV (x right, y down, z forward). With yaw ψ (about world z,
0 = looking along +x), elevation ε (negative = looking down) and roll φ (about the optical axis),
``R_world_camera = Rz(ψ) · Ry(−ε) · Rx(φ) · B`` where ``B`` maps camera axes onto a level body
looking along +x (camera z → world x, camera x → world −y, camera y → world −z).

Time ``t`` is in seconds from the start of the scan, ``0 ≤ t ≤ duration_s``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline, CubicSpline, make_interp_spline
from scipy.ndimage import gaussian_filter1d
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial.transform import Rotation

from ..errors import ConfigError
from ..types import Trajectory, as_transform
from .world import SimWorld, inside_polygon

GRAVITY_MPS2 = np.array([0.0, 0.0, -9.81])
_B = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # camera axes → level body (x forward)

#: Default rigid mount of the IMU relative to the colour camera (``T_imu_camera``): the IMU sits
#: 2 cm left of, 0.5 cm below and 1 cm behind the camera centre (camera axes), with its axes turned
#: (0.5°, −1.0°, 0.8°) (x-y-z Euler) from the camera's — a typical phone/RGB-D-module layout whose
#: small misalignment a calibration would have to recover.
DEFAULT_T_IMU_CAMERA = np.eye(4)
DEFAULT_T_IMU_CAMERA[:3, :3] = Rotation.from_euler("xyz", [0.5, -1.0, 0.8], degrees=True).as_matrix()
DEFAULT_T_IMU_CAMERA[:3, 3] = -DEFAULT_T_IMU_CAMERA[:3, :3] @ np.array([-0.02, 0.005, -0.01])
DEFAULT_T_IMU_CAMERA.flags.writeable = False

GRID_M = 0.1  # planning grid cell
PLAN_CLEARANCES_M = (0.45, 0.35, 0.25)  # tried in turn until every room is reachable
CHECK_CLEARANCE_M = 0.15  # the final spline must keep at least this far from walls and objects
RAMP_S = 1.5  # start/stop ramp of the walking speed
A_LAT_MPS2 = 0.4  # lateral acceleration limit in bends (and braking before them)
KEY_DT_S = 1.25  # orientation keyframe spacing
MAX_YAW_STEP = np.radians(38.0)  # per keyframe → ≈30°/s average pan, < 90°/s peak
MAX_RATE_RADPS = np.radians(90.0)
FACING_DEG = 25.0  # a wall counts as seen when the view direction is within this of its normal


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 - 15.0 * u + 6.0 * u * u)


def _quintic(t: np.ndarray, y: np.ndarray) -> BSpline:
    """C4 quintic interpolating spline with zero first and second derivatives at both ends."""
    y = np.asarray(y, dtype=np.float64)
    zero = np.zeros(y.shape[1:])
    return make_interp_spline(t, y, k=5, bc_type=([(1, zero), (2, zero)], [(1, zero), (2, zero)]))


@dataclass(frozen=True, eq=False)
class ScanTrajectory:
    """A smooth camera motion: ``position`` (t → (3,) world metres of the camera centre) and
    ``angles`` (t → (yaw, elevation, roll) radians) quintic B-splines over ``[0, duration_s]``."""

    position: BSpline
    angles: BSpline
    duration_s: float

    # --- camera -----------------------------------------------------------------------------
    def pose(self, t_s: float | np.ndarray) -> np.ndarray:
        """``T_world_camera`` at ``t_s``: (4, 4) for a scalar, (N, 4, 4) for an array."""
        t = np.asarray(t_s, dtype=np.float64)
        T = np.zeros((*t.shape, 4, 4))
        T[..., :3, :3] = self.rotation(t)
        T[..., :3, 3] = self.position(t)
        T[..., 3, 3] = 1.0
        return T

    def rotation(self, t_s: float | np.ndarray) -> np.ndarray:
        """``R_world_camera`` at ``t_s``, shape (..., 3, 3)."""
        a = self.angles(np.asarray(t_s, dtype=np.float64))
        yaw, elev, roll = a[..., 0], a[..., 1], a[..., 2]
        eul = np.stack([yaw, -elev, roll], axis=-1).reshape(-1, 3)
        R = Rotation.from_euler("ZYX", eul).as_matrix() @ _B
        return R.reshape(*a.shape[:-1], 3, 3)

    def velocity_world(self, t_s: float | np.ndarray) -> np.ndarray:
        """Camera-centre velocity in the world frame, m/s."""
        return self.position(np.asarray(t_s, dtype=np.float64), 1)

    def acceleration_world(self, t_s: float | np.ndarray) -> np.ndarray:
        """Camera-centre acceleration in the world frame, m/s² (gravity not included)."""
        return self.position(np.asarray(t_s, dtype=np.float64), 2)

    def angular_velocity_world(self, t_s: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ω, ω̇): angular velocity (rad/s) and angular acceleration (rad/s²) of the camera, both
        expressed in the world frame, from the angle splines' first and second derivatives."""
        t = np.asarray(t_s, dtype=np.float64)
        a, da, dda = self.angles(t), self.angles(t, 1), self.angles(t, 2)
        yaw, pitch = a[..., 0], -a[..., 1]
        dyaw, dpitch, droll = da[..., 0], -da[..., 1], da[..., 2]
        ddyaw, ddpitch, ddroll = dda[..., 0], -dda[..., 1], dda[..., 2]
        cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
        z = np.broadcast_to([0.0, 0.0, 1.0], (*yaw.shape, 3))
        e2 = np.stack([-sy, cy, np.zeros_like(yaw)], -1)  # pitch axis Rz(ψ)ŷ
        f = np.stack([cy * cp, sy * cp, -sp], -1)  # roll axis = optical axis Rz(ψ)Ry(α)x̂
        w_yp = dyaw[..., None] * z + dpitch[..., None] * e2
        w = w_yp + droll[..., None] * f
        de2 = dyaw[..., None] * np.cross(z, e2)
        df = np.cross(w_yp, f)
        dw = (ddyaw[..., None] * z + ddpitch[..., None] * e2 + dpitch[..., None] * de2
              + ddroll[..., None] * f + droll[..., None] * df)
        return w, dw

    def angular_velocity_camera(self, t_s: float | np.ndarray) -> np.ndarray:
        """Angular velocity of the camera in the camera frame, rad/s."""
        w, _ = self.angular_velocity_world(t_s)
        return np.einsum("...ji,...j->...i", self.rotation(t_s), w)

    def camera_trajectory(self, rate_hz: float, t0_ns: int = 0) -> Trajectory:
        """Camera poses sampled at ``rate_hz`` (timestamps ``t0_ns + round(k·1e9/rate_hz)``)."""
        ts = _sample_times_ns(self.duration_s, rate_hz)
        return Trajectory(ts + t0_ns, self.pose(ts * 1e-9), body="camera")

    # --- IMU ------------------------------------------------------------------------------------
    def T_world_imu(self, t_s: float | np.ndarray, T_imu_camera: np.ndarray = DEFAULT_T_IMU_CAMERA) -> np.ndarray:
        """Pose of the IMU rigidly mounted at ``T_imu_camera``: ``T_world_camera · T_camera_imu``."""
        return self.pose(t_s) @ np.linalg.inv(as_transform(T_imu_camera, "T_imu_camera"))

    def imu_motion(
        self, t_s: float | np.ndarray, T_imu_camera: np.ndarray = DEFAULT_T_IMU_CAMERA
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ideal IMU readings and velocity at ``t_s``.

        Returns ``(gyro_radps, specific_force_mps2, velocity_world_mps)``: angular velocity and
        specific force ``R_world_imuᵀ (a_world − g)`` with g = (0, 0, −9.81) in the IMU frame, and
        the IMU origin's velocity in the world frame. The IMU origin's acceleration includes the
        lever-arm terms ``ω̇ × r + ω × (ω × r)`` of its offset ``r`` from the camera centre.
        """
        T_ic = as_transform(T_imu_camera, "T_imu_camera")
        T_ci = np.linalg.inv(T_ic)
        t = np.asarray(t_s, dtype=np.float64)
        R_wc = self.rotation(t)
        w, dw = self.angular_velocity_world(t)
        r = np.einsum("...ij,j->...i", R_wc, T_ci[:3, 3])  # lever arm camera → IMU, world frame
        v = self.velocity_world(t) + np.cross(w, r)
        a = self.acceleration_world(t) + np.cross(dw, r) + np.cross(w, np.cross(w, r))
        R_wi = R_wc @ T_ci[:3, :3]
        gyro = np.einsum("...ji,...j->...i", R_wi, w)
        force = np.einsum("...ji,...j->...i", R_wi, a - GRAVITY_MPS2)
        return gyro, force, v


def _sample_times_ns(duration_s: float, rate_hz: float) -> np.ndarray:
    if not np.isfinite(rate_hz) or rate_hz <= 0:
        raise ConfigError(f"sampling rate must be positive, got {rate_hz} Hz")
    n = int(np.floor(duration_s * rate_hz + 1e-9)) + 1
    return np.rint(np.arange(n) * (1e9 / rate_hz)).astype(np.int64)


# ------------------------------------------------------------------------------------------------
# free space


def _doorway_boxes(world: SimWorld) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]:
    """(centre, x axis, y axis, half width, half depth) of each doorway, from the door/opening
    element nearest to it (a 0.8 m wide, 0.2 m deep gap when none is within 0.6 m)."""
    cands = [e for e in world.room.elements if e.category in ("door", "opening")]
    walls = {e.identifier: e for e in world.room.of("wall")}
    out = []
    for c in world.doorways:
        c = np.asarray(c, dtype=np.float64)[:2]
        best = min(cands, key=lambda e: np.linalg.norm(e.center_m[:2] - c), default=None)
        if best is None or np.linalg.norm(best.center_m[:2] - c) > 0.6:
            out.append((c, np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.4, 0.1))
            continue
        R = best.T_world_element[:3, :3]
        x = R[:2, 0] / max(np.linalg.norm(R[:2, 0]), 1e-9)
        y = np.array([-x[1], x[0]])
        thick = max(best.dimensions_m[1], walls[best.parent].dimensions_m[1] if best.parent in walls else 0.0, 0.1)
        out.append((c, x, y, best.dimensions_m[0] / 2, thick / 2))
    return out


def _walkable(world: SimWorld, xy: np.ndarray, clearance: float, doors: list) -> np.ndarray:
    """``world.is_free`` plus the passages through doorways (narrowed by ``clearance`` but at least
    one grid cell wide, and long enough to reach the free space on both sides)."""
    xy = np.atleast_2d(xy)
    ok = world.is_free(xy, clearance)
    for c, x, y, hw, hd in doors:
        d = xy - c
        ok |= (np.abs(d @ x) <= max(hw - clearance, GRID_M)) & (np.abs(d @ y) <= hd + clearance + 1.5 * GRID_M)
    return ok


def _inside_floor(world: SimWorld, xy: np.ndarray, doors: list) -> np.ndarray:
    """Inside some floor polygon or doorway (objects ignored: the camera sees over them)."""
    ok = np.zeros(len(xy), bool)
    for poly in world.floor_polygons:
        ok |= inside_polygon(xy, poly)
    for c, x, y, hw, hd in doors:
        d = xy - c
        ok |= (np.abs(d @ x) <= hw) & (np.abs(d @ y) <= hd + 0.05)
    return ok


def _segment_points(a: np.ndarray, b: np.ndarray, step: float) -> np.ndarray:
    n = max(int(np.ceil(np.linalg.norm(b - a) / step)), 1)
    return a + np.linspace(0.0, 1.0, n + 1)[:, None] * (b - a)


# ------------------------------------------------------------------------------------------------
# path


class _Grid:
    """Free cells of a planning grid and shortest paths between them (8-connected)."""

    def __init__(self, world: SimWorld, clearance: float, doors: list) -> None:
        allpts = np.vstack(world.floor_polygons)
        lo, hi = allpts.min(0), allpts.max(0)
        xs = np.arange(lo[0] + GRID_M / 2, hi[0], GRID_M)
        ys = np.arange(lo[1] + GRID_M / 2, hi[1], GRID_M)
        gx, gy = np.meshgrid(xs, ys)
        self.shape = gx.shape
        self.clearance = clearance
        self.xy = np.stack([gx.ravel(), gy.ravel()], -1)
        free = _walkable(world, self.xy, clearance, doors)
        self.free = free
        idx = np.arange(free.size).reshape(self.shape)
        rows, cols, w = [], [], []
        H, W = self.shape
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = idx[: H - dy, max(0, -dx): W - max(0, dx)]
            b = idx[dy:, max(0, dx): W - max(0, -dx)]
            a, b = a.ravel(), b.ravel()
            keep = free[a] & free[b]
            rows += [a[keep], b[keep]]
            cols += [b[keep], a[keep]]
            w += [np.full(2 * keep.sum(), GRID_M * np.hypot(dx, dy))]
        n = free.size
        self.graph = coo_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()

    def paths_from(self, src: int) -> tuple[np.ndarray, np.ndarray]:
        return dijkstra(self.graph, indices=src, return_predecessors=True)


def _farthest_points(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [int(rng.integers(len(xy)))]
    d = np.linalg.norm(xy - xy[chosen[0]], axis=1)
    while len(chosen) < min(k, len(xy)):
        chosen.append(int(np.argmax(d)))
        d = np.minimum(d, np.linalg.norm(xy - xy[chosen[-1]], axis=1))
    return np.array(chosen)


def _room_cells(world: SimWorld, grid: _Grid) -> list[np.ndarray]:
    return [np.flatnonzero(grid.free & inside_polygon(grid.xy, p)) for p in world.floor_polygons]


def _tour(world: SimWorld, grid: _Grid, rooms: list[np.ndarray], rng: np.random.Generator, min_len: float) -> np.ndarray:
    """Grid cells visiting well-spread targets room after room, repeated until ``min_len`` metres."""
    targets: list[int] = []
    length, current, order = 0.0, None, [i for i, r in enumerate(rooms) if len(r)]
    while True:
        for ri in order:
            cells = rooms[ri]
            area = abs(_polygon_area(world.floor_polygons[ri]))
            pts = cells[_farthest_points(grid.xy[cells], int(np.clip(round(area / 4), 3, 6)), rng)]
            pts = list(pts)
            while pts:  # nearest-neighbour order
                ref = grid.xy[current] if current is not None else grid.xy[pts[0]]
                j = int(np.argmin([np.linalg.norm(grid.xy[p] - ref) for p in pts]))
                nxt = pts.pop(j)
                if current is not None:
                    length += np.linalg.norm(grid.xy[nxt] - grid.xy[current])
                targets.append(nxt)
                current = nxt
        if length >= min_len or len(targets) > 400:
            break
        order = order[::-1]
    cells = [targets[0]]
    for a, b in itertools.pairwise(targets):
        dist, pred = grid.paths_from(a)
        if not np.isfinite(dist[b]):
            raise ConfigError("scan path target unreachable")
        seg = [b]
        while seg[-1] != a:
            seg.append(int(pred[seg[-1]]))
        cells += seg[::-1][1:]
    return grid.xy[np.array(cells)]


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _shortcut(world: SimWorld, pts: np.ndarray, clearance: float, doors: list) -> np.ndarray:
    """Greedy line-of-sight simplification of a grid path that keeps its detours and turnarounds
    (a sub-path is replaced only by a chord at most 20 % + 0.2 m shorter)."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    keep, i = [0], 0
    while i < len(pts) - 1:
        j = i + 1
        while (
            j + 1 < len(pts)
            and arc[j + 1] - arc[i] <= 1.2 * np.linalg.norm(pts[j + 1] - pts[i]) + 0.2
            and _walkable(world, _segment_points(pts[i], pts[j + 1], 0.05), clearance, doors).all()
        ):
            j += 1
        keep.append(j)
        i = j
    return pts[keep]


def _smooth_path(world: SimWorld, pts: np.ndarray, doors: list) -> CubicSpline:
    """Resample at 5 cm, round the corners with a Gaussian, return P(s) over arc length s.

    A smoothing that shortens the path by more than a third is refused (an out-and-back stretch
    would otherwise collapse onto its turning point), as is one leaving free space."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    ss = np.linspace(0.0, s[-1], max(int(s[-1] / 0.05), 2) + 1)
    dense = np.stack([np.interp(ss, s, pts[:, 0]), np.interp(ss, s, pts[:, 1])], -1)
    for sigma in (8.0, 5.0, 3.0, 2.0):
        sm = gaussian_filter1d(dense, sigma, axis=0, mode="nearest")
        kept = np.linalg.norm(np.diff(sm, axis=0), axis=1).sum() >= (2 / 3) * s[-1]
        if kept and _walkable(world, sm, CHECK_CLEARANCE_M + 0.05, doors).all():
            break
    else:
        raise ConfigError("could not smooth the scan path inside free space without collapsing it")
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(sm, axis=0), axis=1))])
    su = np.linspace(0.0, s[-1], max(int(s[-1] / 0.05), 2) + 1)  # uniform in arc length: |P'(s)| ≈ 1
    return CubicSpline(su, np.stack([np.interp(su, s, sm[:, 0]), np.interp(su, s, sm[:, 1])], -1))


def _time_law(rng: np.random.Generator, speed: tuple[float, float], P: CubicSpline, duration: float | None):
    """Arc length s(t) at 100 Hz along the path ``P(s)``.

    The walker aims at a cruise speed with a slow ± variation inside ``speed``, slows down for
    bends (lateral acceleration ≤ :data:`A_LAT_MPS2`, anticipated with a backward pass at
    :data:`A_LAT_MPS2` braking), follows that target with a 0.3 s lag, starts with a 1.5 s
    smoothstep ramp and stops with one: at the end of the path, or at ``duration`` when given.
    """
    lo, hi = speed
    vc = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
    amp = 0.7 * min(vc - lo, hi - vc)
    period, phase = rng.uniform(6.0, 12.0), rng.uniform(0.0, 2 * np.pi)
    # curvature as the turning angle of the 5 cm chords over ±10 cm (robust at U-turns, where the
    # chords reverse), then the speed limit on a 1 cm grid
    chord = np.diff(P(P.x), axis=0)
    heading = np.unwrap(np.arctan2(chord[:, 1], chord[:, 0]))
    turn = np.abs(heading[4:] - heading[:-4]) / 0.2
    kappa = np.interp(P.x, P.x[2:-3] + 0.025, turn) if len(turn) else np.zeros(len(P.x))
    sg = np.linspace(0.0, P.x[-1], int(P.x[-1] / 0.01) + 2)
    vlim = np.minimum(np.sqrt(A_LAT_MPS2 / np.maximum(np.interp(sg, P.x, kappa), 1e-9)), hi)
    for i in range(len(sg) - 2, -1, -1):  # brake ahead of bends
        vlim[i] = min(vlim[i], np.sqrt(vlim[i + 1] ** 2 + 2 * A_LAT_MPS2 * (sg[i + 1] - sg[i])))
    L, dt = float(sg[-1]), 0.01
    ts, ss, t, s, v = [0.0], [0.0], 0.0, 0.0, 0.0
    while True:
        if (duration is None and s >= L - v * RAMP_S / 2) or (duration is not None and t >= duration - RAMP_S - 1e-9):
            break
        if t > 3600:
            raise ConfigError("scan time law did not converge")
        target = min(vc + amp * np.sin(2 * np.pi * t / period + phase), float(np.interp(s + 0.3 * v, sg, vlim)))
        v += (target * _smoothstep(np.array(t / RAMP_S)) - v) * dt / 0.3
        t, s = t + dt, s + v * dt
        ts.append(t)
        ss.append(s)
    # a smoothstep ramp down from speed v covers v·RAMP_S/2 (v nudged to end exactly at L)
    if duration is None:
        v = 2 * max(L - s, 0.0) / RAMP_S
    u = np.linspace(0.0, 1.0, int(RAMP_S / dt) + 1)[1:]
    ts += list(t + u * RAMP_S)
    ss += list(s + v * RAMP_S * (u - (u**6 - 3 * u**5 + 2.5 * u**4)))
    return np.array(ts), np.array(ss)


# ------------------------------------------------------------------------------------------------
# orientation


def _walls(world: SimWorld) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floor-polygon edges: start points, end points, outward unit normals (CCW polygons)."""
    a = np.vstack(world.floor_polygons)
    b = np.vstack([np.roll(p, -1, axis=0) for p in world.floor_polygons])
    e = b - a
    n = np.stack([e[:, 1], -e[:, 0]], -1) / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return a, b, n


def _facing(p: np.ndarray, yaw: float, walls, world: SimWorld, doors: list) -> np.ndarray:
    """Which walls the camera at ``p`` looking along ``yaw`` faces (within :data:`FACING_DEG` of
    their normal, in front of it, with a clear line of sight to the foot point)."""
    a, b, n = walls
    f = np.array([np.cos(yaw), np.sin(yaw)])
    out = np.zeros(len(a), bool)
    for i in np.flatnonzero(n @ f > np.cos(np.radians(FACING_DEG))):
        q = _foot(p, a[i], b[i])
        out[i] = (q - p) @ n[i] > 0.2 and _clear(world, p, q, doors)
    return out


def _foot(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    e = b - a
    L = np.linalg.norm(e)
    m = min(0.2, L / 2)
    s = np.clip((p - a) @ e / max(L, 1e-12), m, L - m)
    return a + e / max(L, 1e-12) * s


def _clear(world: SimWorld, p: np.ndarray, q: np.ndarray, doors: list) -> bool:
    d = np.linalg.norm(q - p)
    if d < 0.2:
        return False
    pts = _segment_points(p, p + (q - p) * (d - 0.15) / d, 0.1)
    return bool(_inside_floor(world, pts, doors).all())


def _plan_angles(world: SimWorld, pos: BSpline, T: float, rng: np.random.Generator, doors: list) -> BSpline:
    walls = _walls(world)
    a, b, n = walls
    seen = np.zeros(len(a))
    tk = np.linspace(0.0, T, max(int(np.ceil(T / KEY_DT_S)), 2) + 1)
    keys, prev = [], None
    for t in tk:
        p3 = pos(t)
        p = p3[:2]
        best, best_score, best_dist = None, -np.inf, 2.0
        for i in range(len(a)):
            q = _foot(p, a[i], b[i])
            if (q - p) @ n[i] <= 0.2 or not _clear(world, p, q, doors):
                continue
            yaw = np.arctan2(*(q - p)[::-1])
            dist = float(np.linalg.norm(q - p))
            turn = 0.0 if prev is None else abs(np.angle(np.exp(1j * (yaw - prev))))
            # unseen walls first, then small turns and walls across the room rather than at arm's length
            score = 2.0 / (1.0 + seen[i]) - 1.2 * turn / np.pi + 0.8 * min(dist, 4.0) / 4.0 - (dist < 1.0) + rng.uniform(0, 0.3)
            if score > best_score:
                best, best_score, best_dist = yaw, score, dist
        yaw = prev if best is None else best + rng.normal(0.0, np.radians(6.0))
        if yaw is None:
            yaw = rng.uniform(-np.pi, np.pi)
        if prev is not None:
            yaw = prev + np.clip(np.angle(np.exp(1j * (yaw - prev))), -MAX_YAW_STEP, MAX_YAW_STEP)
        seen += _facing(p, yaw, walls, world, doors)
        look_h = rng.uniform(0.5, 1.3)
        elev = np.clip(np.arctan2(look_h - p3[2], best_dist), np.radians(-27.0), np.radians(-12.0))
        keys.append((yaw, elev, rng.uniform(np.radians(-4.0), np.radians(4.0))))
        prev = yaw
    return _quintic(tk, np.array(keys))


# ------------------------------------------------------------------------------------------------


def plan_scan(
    world: SimWorld,
    rng: np.random.Generator,
    duration_s: float | None = None,
    speed_mps: tuple[float, float] = (0.3, 0.8),
    max_attempts: int = 6,
) -> ScanTrajectory:
    """Plan a hand-held scan of ``world``: walk through every room at head height (1.4–1.7 m with
    a gentle step bob) while panning towards every wall, looking 10–30° down.

    ``duration_s`` fixes the length of the scan (default: one tour of every room, long enough to
    face each wall). The walking speed varies slowly inside ``speed_mps`` and ramps from and to
    rest over 1.5 s. The result is checked at 100 Hz to keep ≥ 0.15 m from walls and objects and
    turn slower than 90°/s; failed plans are redrawn, and :class:`ConfigError` is raised when
    the world has no walkable space or ``max_attempts`` plans fail.
    """
    lo, hi = (float(v) for v in speed_mps)
    if not (0 < lo <= hi <= 2.0):
        raise ConfigError(f"speed_mps must be 0 < low ≤ high ≤ 2 m/s, got {speed_mps}")
    if duration_s is not None and not (np.isfinite(duration_s) and duration_s >= 2 * RAMP_S + 1.0):
        raise ConfigError(f"duration_s must be at least {2 * RAMP_S + 1.0:g} s, got {duration_s}")
    if not world.floor_polygons:
        raise ConfigError("the world has no floor polygons to walk on")
    doors = _doorway_boxes(world)
    for clearance in PLAN_CLEARANCES_M:
        grid = _Grid(world, clearance, doors)
        rooms = _room_cells(world, grid)
        reach = [r for r in rooms if len(r)]
        if reach:
            dist, _ = grid.paths_from(int(reach[0][0]))
            if all(np.isfinite(dist[r]).any() for r in reach) and sum(map(len, reach)) >= 4:
                rooms = [r[np.isfinite(dist[r])] for r in rooms]
                break
    else:
        raise ConfigError(f"no connected walkable space (≥ {PLAN_CLEARANCES_M[-1]} m from walls and objects) in the world")

    n_walls = len(_walls(world)[0])
    last = "no attempt"
    for _ in range(max_attempts):
        try:
            traj = _attempt(world, grid, rooms, rng, duration_s, (lo, hi), n_walls, doors)
        except ConfigError as exc:
            last = exc.problem
            continue
        problem = _check(world, traj, doors)
        if problem is None:
            return traj
        last = problem
    raise ConfigError(f"could not plan a scan trajectory in {max_attempts} attempts: {last}")


def _attempt(world, grid, rooms, rng, duration, speed, n_walls, doors) -> ScanTrajectory:
    min_len = speed[1] * (duration + 1.0 if duration is not None else KEY_DT_S * 2.5 * n_walls)
    path = _tour(world, grid, rooms, rng, min_len)
    path = _shortcut(world, path, 0.8 * grid.clearance, doors) if len(path) > 2 else path
    if len(path) < 2 or np.linalg.norm(np.diff(path, axis=0), axis=1).sum() < 1.0:
        raise ConfigError("the walkable space is too small for a scan (less than 1 m of path)")
    P = _smooth_path(world, path, doors)
    t, s = _time_law(rng, speed, P, duration)
    if s[-1] > P.x[-1] + 1e-6:
        raise ConfigError("scan path shorter than the requested duration")
    T = round(float(t[-1]), 6)
    tk = np.linspace(0.0, T, int(np.ceil(T * 20)) + 1)
    sk = np.interp(tk, t, s)
    xy = P(np.minimum(sk, P.x[-1]))
    h0, drift_amp, drift_T, drift_ph = rng.uniform(1.45, 1.65), rng.uniform(0.0, 0.04), rng.uniform(8, 15), rng.uniform(0, 2 * np.pi)
    rest = _smoothstep(tk / RAMP_S) * _smoothstep((T - tk) / RAMP_S)  # drift at rest at both ends
    z = h0 + rest * drift_amp * np.sin(2 * np.pi * tk / drift_T + drift_ph) + 0.005 * np.sin(2 * np.pi * sk / 0.35)
    pos = _quintic(tk, np.column_stack([xy, z]))
    angles = _plan_angles(world, pos, T, rng, doors)
    return ScanTrajectory(pos, angles, T)


def _check(world: SimWorld, traj: ScanTrajectory, doors: list) -> str | None:
    t = np.arange(0.0, traj.duration_s, 0.01)
    p = traj.position(t)
    bad = ~_walkable(world, p[:, :2], CHECK_CLEARANCE_M, doors)
    if bad.any():
        return f"camera path leaves free space at t = {t[np.argmax(bad)]:.2f} s"
    rate = np.linalg.norm(traj.angular_velocity_world(t)[0], axis=1).max()
    if rate > MAX_RATE_RADPS:
        return f"turning too fast ({np.degrees(rate):.0f}°/s)"
    return None
