"""Camera tracking: RGB-D odometry + IMU fusion + relocalisation + loop closure → a trajectory.

:class:`Tracker` is the streaming stage (``process(frame)`` per frame, ``finish()`` at the end);
:func:`track` runs it over a session. Every frame gets a :class:`FrameStatus`: tracked by vision,
by vision and IMU, by the IMU alone while vision drops out (briefly), relocalised, or lost with
the reason. Lost frames are left out of the trajectory — a pose that is not trusted is not
reported as one.

World frame: with an IMU, gravity-aligned and z-up (from the inertial initialisation); without,
the first camera's frame turned so that its "down" (+y) is −z, i.e. z-up if the camera started
level (``TrackingResult.gravity_aligned`` says which). Poses are ``T_world_camera`` of the colour
camera (depth-camera tracking is moved with ``T_color_depth``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sensors.errors import CalibrationError, EmptySessionError, SyncError
from sensors.session import Session
from sensors.sync import ImuSeries
from sensors.types import Calibration, CameraIntrinsics, RGBDFrame, Trajectory

from .config import TrackerConfig
from .geometry import adjoint, interpolate_pose, inv, motion
from .imu import imu_gaps
from .loop import Keyframe, KeyframeDatabase, features, loop_consistent, match, optimize_pose_graph, refine, thumbnail
from .odometry import FrameToModel, OdometryResult, Prepared

log = logging.getLogger(__name__)

# the first camera, assumed level: camera x → world x, camera z (forward) → world y, camera y (down) → −z
T_WORLD_LEVEL_CAMERA = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1.0]])


@dataclass
class FrameStatus:
    """How one frame was tracked. ``source``: ``"start"`` (first frame, defines the map),
    ``"vision"``, ``"vision+imu"``, ``"imu"`` (vision failed, the IMU carried the pose),
    ``"relocalised"`` or ``"lost"``; ``reason`` explains failures (also for ``"imu"`` frames)."""

    index: int
    timestamp_ns: int
    tracked: bool
    source: str
    reason: str = ""
    inlier_ratio: float = 0.0
    rmse_m: float = float("nan")
    constraint: float = 0.0
    overlap: float = 0.0
    keyframe: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rmse_m"] = None if not np.isfinite(self.rmse_m) else self.rmse_m
        return d


@dataclass
class TrackingResult:
    """``trajectory``: ``T_world_camera`` of every tracked frame (lost frames are left out);
    ``status``: one :class:`FrameStatus` per frame read; ``stats``: counts, timings, IMU
    calibration estimates, loop closures."""

    trajectory: Trajectory
    status: list[FrameStatus]
    stats: dict
    config: TrackerConfig
    gravity_aligned: bool
    keyframes: list[int] = field(default_factory=list)
    loops: list[tuple[int, int]] = field(default_factory=list)

    @property
    def lost(self) -> list[int]:
        """Indices of lost frames."""
        return [s.index for s in self.status if not s.tracked]

    @property
    def tracked_fraction(self) -> float:
        return float(np.mean([s.tracked for s in self.status])) if self.status else 0.0


class Tracker:
    """Streaming tracker over frames of one camera (see the module doc).

    ``calibration``: the session's; ``imu``: its IMU stream on the camera clock (or ``None``);
    ``path``: named in errors."""

    def __init__(self, calibration: Calibration, config: TrackerConfig | None = None, imu: ImuSeries | None = None,
                 path: str | Path | None = None) -> None:
        self.config = config = config or TrackerConfig()
        self.path = path
        K = calibration.depth if calibration.depth is not None else calibration.color
        if K is None:
            raise CalibrationError("the session has no camera intrinsics; tracking needs them", path)
        self.K: CameraIntrinsics = K
        self.imu_noise = calibration.imu_noise
        registered = calibration.depth is None
        self.T_track_out = np.eye(4) if registered else inv(calibration.T_color_depth)  # colour camera in the tracked one
        self.odo = FrameToModel(K, config)
        self.db = KeyframeDatabase()
        self.rng = np.random.default_rng(0)
        self.status: list[FrameStatus] = []
        self.poses: dict[int, np.ndarray] = {}  # frame index -> T_map_camera (tracked camera)
        self.times: dict[int, int] = {}
        self.anchor: dict[int, int] = {}  # frame index -> keyframe position in db
        self.loops: list[tuple[int, int, np.ndarray]] = []
        self.T_world_map = T_WORLD_LEVEL_CAMERA.copy()
        self.gravity_aligned = False
        self._last: list[int] = []  # last two tracked frame indices (velocity model)
        self._lost_since: int | None = None
        self._lost_motion: list[tuple[int, np.ndarray]] = []  # (time, pose) of the last tracked frames
        self._imu_only_since: int | None = None
        self._rmse_recent: list[float] = []  # residuals of the last accepted alignments
        self._timing = {"prepare": 0.0, "track": 0.0, "fuse": 0.0, "render": 0.0, "imu": 0.0, "keyframes": 0.0}
        self.stats: dict = {"relocalisations": 0, "imu_frames": 0, "degenerate_frames": 0}
        # IMU
        self.imu = imu if imu is not None and len(imu) else None
        self.imu_stats: dict = {"used": False}
        self.vio = None
        self._init_buf: list[int] = []
        self._next_init_ns: int | None = None
        self.T_imu_track = None
        if config.imu == "off":
            self.imu = None
            self.imu_stats["reason"] = "disabled by configuration"
        elif self.imu is None:
            if config.imu == "on":
                raise CalibrationError("imu='on' but the session has no IMU readings", path)
            self.imu_stats["reason"] = "no IMU readings in the session"
        elif calibration.T_imu_camera is None:
            if config.imu == "on":
                raise CalibrationError("imu='on' but the calibration has no T_imu_camera (camera–IMU extrinsics)", path)
            self.imu_stats["reason"] = "calibration has no T_imu_camera; IMU ignored"
            log.warning("%s: IMU present but no T_imu_camera in the calibration; tracking without IMU", path)
            self.imu = None
        else:
            self.T_imu_track = calibration.T_imu_camera @ (np.eye(4) if registered else calibration.T_color_depth)
            self._estimate_offset = config.estimate_time_offset == "on" or (
                config.estimate_time_offset == "auto" and calibration.time_offset_ns == 0)
            gaps = imu_gaps(self.imu, int(config.imu_max_gap_ms * 1e6))
            if gaps:
                self.imu_stats["gaps"] = [list(g) for g in gaps[:20]]
                log.warning("%s: IMU has %d gap(s) longer than %g ms; frames across them are tracked without IMU",
                            path, len(gaps), config.imu_max_gap_ms)
        self._t0 = time.perf_counter()

    # -- main step --------------------------------------------------------------------------
    def process(self, frame: RGBDFrame) -> FrameStatus:
        """Track one frame; returns (and records) its status."""
        i = len(self.status)
        t = int(frame.timestamp_ns)
        self.times[i] = t
        if frame.depth_m is None:
            return self._record(FrameStatus(i, t, False, "lost", "frame has no depth image"))
        if frame.depth_intrinsics is not None:  # track in the depth camera, without colour
            frame = RGBDFrame(frame.timestamp_ns, None, frame.depth_m, frame.depth_intrinsics, index=frame.index)
        a = time.perf_counter()
        prep = self.odo.prepare(frame)
        self._timing["prepare"] += time.perf_counter() - a
        if not self.odo.has_model:
            return self._start(i, t, prep)
        if self._lost_since is not None:
            return self._relocalise(i, t, prep)
        T_pred = self._predict(i, t)
        a = time.perf_counter()
        res = self.odo.track(prep, T_pred)
        self._timing["track"] += time.perf_counter() - a
        res = self._check_residual(res, T_pred)
        if self.vio is not None:
            return self._fuse_imu(i, t, prep, res)
        if res.ok and res.degenerate:
            self.stats["degenerate_frames"] += 1
            res = OdometryResult(T_pred, False, f"degenerate geometry (weakest-direction constraint {res.constraint:.3f}) and no IMU",
                                 res.inlier_ratio, res.rmse_m, res.constraint, True, res.information)
        if not res.ok:
            return self._lose(i, t, res)
        return self._accept(i, t, prep, res.T_map_camera, "vision", res)

    def _check_residual(self, res: OdometryResult, T_pred: np.ndarray) -> OdometryResult:
        """Reject an alignment whose residual jumped to ``max_rmse_ratio`` times the median of the
        last accepted frames (a partial misalignment passes the absolute checks but not this)."""
        c = self.config
        recent = self._rmse_recent
        if res.ok and np.isfinite(res.rmse_m):
            if len(recent) >= 10:
                ref = float(np.median(recent))
                if res.rmse_m > max(c.max_rmse_ratio * ref, 0.005):
                    return OdometryResult(
                        T_pred, False, f"residual jump ({1e3 * res.rmse_m:.1f} mm, {res.rmse_m / ref:.1f}x the recent "
                        f"median {1e3 * ref:.1f} mm)", res.inlier_ratio, res.rmse_m, res.constraint, res.degenerate,
                        res.information, res.overlap)
            recent.append(res.rmse_m)
            del recent[:-30]
        return res

    def _start(self, i: int, t: int, prep: Prepared) -> FrameStatus:
        c = self.config
        if prep.valid_fraction < c.min_valid_depth:
            why = f"waiting for valid depth to start the map ({100 * prep.valid_fraction:.1f}% of pixels)"
            return self._record(FrameStatus(i, t, False, "lost", why + (", dark image" if prep.dark else "")))
        T = np.eye(4)
        self.odo.integrate(prep, T)
        self.odo.render(T)
        self._set_pose(i, T)
        st = FrameStatus(i, t, True, "start", "dark image" if prep.dark else "", 1.0, 0.0)
        self._keyframe(i, t, prep, st, force=True)
        self._init_buf.append(i)
        return self._record(st)

    def _predict(self, i: int, t: int) -> np.ndarray:
        if self.vio is not None:
            try:
                return inv(self.T_world_map) @ self.vio.predict(t, self.imu)
            except SyncError:
                pass
        if len(self._last) < 2:
            return self.poses[self._last[-1]]
        a, b = self._last
        dt_prev = self.times[b] - self.times[a]
        dt_now = t - self.times[b]
        f = dt_now / dt_prev if dt_prev > 0 else 1.0
        if not 0 < f < 4:
            return self.poses[b]
        return interpolate_pose(self.poses[a], self.poses[b], 1.0 + f)

    def _accept(self, i: int, t: int, prep: Prepared, T: np.ndarray, source: str, res: OdometryResult | None,
                fuse: bool = True) -> FrameStatus:
        c = self.config
        self._set_pose(i, T)
        self._lost_since = None
        st = FrameStatus(i, t, True, source, res.reason if res is not None else "",
                         res.inlier_ratio if res is not None else 0.0, res.rmse_m if res is not None else float("nan"),
                         res.constraint if res is not None else 0.0, res.overlap if res is not None else 0.0)
        a = time.perf_counter()
        if fuse and i % c.integrate_every == 0:
            self.odo.integrate(prep, T)
        b = time.perf_counter()
        self.odo.maybe_render(T)
        e = time.perf_counter()
        self._timing["fuse"] += b - a
        self._timing["render"] += e - b
        if fuse:
            self._keyframe(i, t, prep, st)
        self._timing["keyframes"] += time.perf_counter() - e
        if self.imu is not None and self.vio is None:
            self._init_buf.append(i)
            self._try_imu_init(i, t)
        return self._record(st)

    def _lose(self, i: int, t: int, res: OdometryResult) -> FrameStatus:
        if self._lost_since is None:
            self._lost_since = i
            self._lost_motion = [(self.times[k], self.poses[k]) for k in self._last]
        self._init_buf.clear()
        self._last = self._last[-1:]
        return self._record(FrameStatus(i, t, False, "lost", res.reason, res.inlier_ratio, res.rmse_m, res.constraint,
                                        res.overlap))

    def _set_pose(self, i: int, T: np.ndarray) -> None:
        self.poses[i] = T
        self._last = [*self._last[-1:], i]
        if len(self.db):
            self.anchor[i] = len(self.db) - 1

    def _record(self, st: FrameStatus) -> FrameStatus:
        self.status.append(st)
        return st

    # -- IMU ----------------------------------------------------------------------------------
    def _fuse_imu(self, i: int, t: int, prep: Prepared, res: OdometryResult) -> FrameStatus:
        c = self.config
        a = time.perf_counter()
        visual = res.T_map_camera if res.ok else None
        info = None
        if res.ok:
            Ad = adjoint(self.T_world_map)
            Adi = np.linalg.inv(Ad)
            info = Adi.T @ res.information @ Adi
        try:
            st = self.vio.update(i, t, self.imu, self.T_world_map @ visual if visual is not None else None, info)
        except SyncError as exc:
            self._timing["imu"] += time.perf_counter() - a
            self.imu_stats.setdefault("restarts", 0)
            self.imu_stats["restarts"] += 1
            if not res.ok or res.degenerate:
                self.vio = None
                self._init_buf.clear()
                return self._lose(i, t, OdometryResult(res.T_map_camera, False, f"{res.reason or 'degenerate'}; IMU unusable: {exc.problem}",
                                                       res.inlier_ratio, res.rmse_m, res.constraint, False, res.information))
            self._restart_vio(i, t, res.T_map_camera)
            return self._accept(i, t, prep, res.T_map_camera, "vision", res)
        self._timing["imu"] += time.perf_counter() - a
        T = inv(self.T_world_map) @ st.T_world_camera
        if res.ok and not res.degenerate:
            self._imu_only_since = None
            return self._accept(i, t, prep, T, "vision+imu", res)
        self.stats["imu_frames"] += 1
        if res.degenerate:
            self.stats["degenerate_frames"] += 1
        if self._imu_only_since is None:
            self._imu_only_since = t
        if (t - self._imu_only_since) * 1e-9 > c.imu_only_max_s:
            self.vio = None
            self._init_buf.clear()
            return self._lose(i, t, OdometryResult(T, False, f"{res.reason}; vision out for more than {c.imu_only_max_s:g} s",
                                                   res.inlier_ratio, res.rmse_m, res.constraint, False, res.information))
        return self._accept(i, t, prep, T, "imu", res, fuse=False)

    def _restart_vio(self, i: int, t: int, T_map: np.ndarray, velocity: np.ndarray | None = None) -> None:
        prev = self.vio.state if self.vio is not None else None
        self._start_vio(i, t, T_map, velocity if velocity is not None else np.zeros(3),
                        prev.gyro_bias if prev else self.imu_stats.get("gyro_bias_radps", np.zeros(3)),
                        prev.accel_bias if prev else self.imu_stats.get("accel_bias_mps2", np.zeros(3)),
                        sigma_vel=0.05 if velocity is not None else 0.5)

    def _start_vio(self, i, t, T_map, v, bg, ba, sigma_vel=0.05) -> None:
        from .imu import preintegration_params
        from .vio import VioSmoother

        params = preintegration_params(self.imu_noise)
        self.vio = VioSmoother(params, self.T_imu_track, self.config.smoother_lag_s, int(self.config.imu_max_gap_ms * 1e6))
        self.vio.start(i, t, self.T_world_map @ T_map, v, np.asarray(bg), np.asarray(ba), sigma_vel_mps=sigma_vel)

    def _try_imu_init(self, i: int, t: int) -> None:
        from .imu import estimate_time_offset, initialize

        c = self.config
        buf = self._init_buf
        if len(buf) < 10 or (self.times[buf[-1]] - self.times[buf[0]]) * 1e-9 < c.imu_init_s:
            return
        if self._next_init_ns is not None and t < self._next_init_ns:
            return
        a = time.perf_counter()
        ts = np.array([self.times[k] for k in buf], np.int64)
        T_map_cam = np.stack([self.poses[k] for k in buf])
        try:
            if self._estimate_offset:
                off, q = estimate_time_offset(ts, T_map_cam[:, :3, :3], self.imu, self.T_imu_track[:3, :3],
                                              int(c.max_time_offset_ms * 1e6))
                self.imu_stats.update(time_offset_estimated_ns=off, time_offset_quality=q)
                self._estimate_offset = False
                if q > 0.5 and abs(off) >= c.min_time_offset_ms * 1e6:
                    self.imu = ImuSeries(self.imu.timestamps_ns + off, self.imu.accel_mps2, self.imu.gyro_radps)
                    self.imu_stats["time_offset_applied_ns"] = off
            it = self.imu.timestamps_ns
            covered = (ts >= it[0]) & (ts <= it[-1])  # a clock shift can leave the first frames uncovered
            ts, T_map_cam = ts[covered], T_map_cam[covered]
            if not covered[-1]:
                raise SyncError(f"the IMU stream ends at {it[-1]} ns, before frame {i} at {t} ns")
            sel = _every(ts, 0.1)
            T_map_imu = T_map_cam[sel] @ inv(self.T_imu_track)
            init = initialize(T_map_imu, ts[sel], self.imu, max_gap_ns=int(c.imu_max_gap_ms * 1e6))
        except SyncError as exc:
            self.imu_stats["init_failures"] = [*self.imu_stats.get("init_failures", []), exc.problem]
            self._next_init_ns = t + int(c.imu_init_s * 1e9)
            self._init_buf = buf[len(buf) // 2:]
            self._timing["imu"] += time.perf_counter() - a
            return
        R = np.eye(4)
        R[:3, :3] = init.R_world_ref
        self.T_world_map = R
        self.gravity_aligned = True
        self.imu_stats.update(
            used=True, initialised_at_frame=i, gravity_map=init.gravity_ref.tolist(),
            gyro_bias_radps=init.gyro_bias.tolist(), accel_bias_mps2=init.accel_bias.tolist(),
            init_residual_m=init.residual_rms[0], init_residual_mps=init.residual_rms[1],
            raw_gravity_norm=init.raw_gravity_norm,
        )
        self._start_vio(i, t, self.poses[i], init.velocities_world[-1], init.gyro_bias, init.accel_bias)
        self._timing["imu"] += time.perf_counter() - a

    # -- relocalisation -------------------------------------------------------------------------
    def _relocalise(self, i: int, t: int, prep: Prepared) -> FrameStatus:
        c = self.config
        last_good = self.poses[self._last[-1]]
        a = time.perf_counter()
        if prep.valid_fraction < c.min_valid_depth:
            res = self.odo.track(prep, last_good, strict=True)
            return self._lose(i, t, res)
        if not c.relocalise:
            return self._lose(i, t, OdometryResult(last_good, False, f"lost since frame {self._lost_since}", 0, float("nan"), 0, False, np.zeros((6, 6))))
        # 1. the model where we lost it, and where the camera would be had it kept its velocity
        res, how = None, ""
        for T0, name in self._candidates(t, last_good):
            if motion(self.odo.T_ref, T0)[0] > 1e-6:
                self.odo.render(T0)
            res, how = self.odo.track(prep, T0, strict=True), name
            if res.ok and not res.degenerate:
                break
        # 2. keyframes that look alike
        if (not res.ok or res.degenerate) and len(self.db):
            f = features(prep.feature_gray(), prep.depth, prep.K_small)
            for k, _score in self.db.similar(thumbnail(prep.gray), k=3, min_score=0.3):
                kf = self.db.keyframes[k]
                T_kf_cur, n = match(kf.feats, f, self.rng)
                if n < c.loop_min_inliers:
                    continue
                T0 = kf.T_map_camera @ T_kf_cur
                self.odo.render(T0)
                res = self.odo.track(prep, T0, strict=True)
                how = f"keyframe {kf.index} ({n} ORB inliers)"
                if res.ok and not res.degenerate:
                    break
        self._timing["track"] += time.perf_counter() - a
        if not res.ok or res.degenerate:
            reason = res.reason or "degenerate geometry"
            return self._lose(i, t, OdometryResult(last_good, False, f"lost since frame {self._lost_since}; relocalisation failed: {reason}",
                                                   res.inlier_ratio, res.rmse_m, res.constraint, False, res.information))
        self.stats["relocalisations"] += 1
        self._last = []
        st = self._accept(i, t, prep, res.T_map_camera, "relocalised", res)
        st.reason = f"relocalised against the {how}"
        if self.imu is not None and self.gravity_aligned:
            self._restart_vio(i, t, res.T_map_camera)
        return st

    def _candidates(self, t: int, last_good: np.ndarray) -> list[tuple[np.ndarray, str]]:
        out = [(last_good, "model view at the last pose")]
        m = self._lost_motion
        if len(m) == 2 and m[1][0] > m[0][0] and (t - m[1][0]) * 1e-9 < 2.0:
            f = 1.0 + (t - m[1][0]) / (m[1][0] - m[0][0])
            out.insert(0, (interpolate_pose(m[0][1], m[1][1], f), "model view at the pose predicted from the last motion"))
        return out

    # -- keyframes and loops ----------------------------------------------------------------------
    def _keyframe(self, i: int, t: int, prep: Prepared, st: FrameStatus, force: bool = False) -> None:
        c = self.config
        T = self.poses[i]
        if not force and len(self.db):
            dt, dr = motion(self.db.keyframes[-1].T_map_camera, T)
            if dt < c.keyframe_move_m and np.degrees(dr) < c.keyframe_turn_deg:
                return
        kf = Keyframe.create(i, t, T, prep.depth, prep.gray, prep.K_small, prep.feature_gray())
        self.db.add(kf)
        self.anchor[i] = len(self.db) - 1
        st.keyframe = True
        if c.loop_closure and len(self.db) > c.loop_min_separation:
            self._detect_loop(len(self.db) - 1)

    def _detect_loop(self, j: int) -> None:
        """Look for an older keyframe seeing the same place: the nearest one by the current
        (slightly drifted) poses, and those whose thumbnails look alike (placed by ORB + RANSAC);
        dense ICP verifies each before it becomes a pose-graph edge."""
        c = self.config
        new = self.db.keyframes[j]
        old_kfs = self.db.keyframes[: j - c.loop_min_separation + 1]
        cands: list[tuple[int, np.ndarray]] = []
        if old_kfs:
            d = [motion(kf.T_map_camera, new.T_map_camera) for kf in old_kfs]
            near = [k for k, (dt, dr) in enumerate(d) if dt < c.loop_search_m and np.degrees(dr) < 30.0]
            if near:
                k = min(near, key=lambda k: d[k][0] + 0.5 * d[k][1])
                cands.append((k, inv(old_kfs[k].T_map_camera) @ new.T_map_camera))
        for k, _score in self.db.similar(new.thumb, k=2, exclude_last=c.loop_min_separation, min_score=0.6):
            T_ab, n = match(self.db.keyframes[k].feats, new.feats, self.rng)
            if n >= c.loop_min_inliers:
                cands.append((k, T_ab))
        for k, T_ab in cands:
            old = self.db.keyframes[k]
            r = refine(old.target(), new.source(), T_ab)
            if not r.ok or r.inlier_ratio < 0.8 or r.overlap < 0.3 or r.rmse_m > 0.015 or r.constraint < 2 * c.min_constraint:
                continue
            if not loop_consistent(inv(old.T_map_camera) @ new.T_map_camera, r.T, c.loop_max_correction_m, 5.0):
                continue
            self.loops.append((k, j, r.T))
            return

    # -- result -------------------------------------------------------------------------------------
    def finish(self) -> TrackingResult:
        """Close loops (pose graph), express poses in the world frame, gather statistics."""
        if not self.status:
            raise EmptySessionError("no frames were tracked", self.path)
        poses = dict(self.poses)
        if self.vio is not None:  # smoothed estimates of the last window
            for k, T in self.vio.estimates.items():
                if k in poses:
                    poses[k] = inv(self.T_world_map) @ T
        loop_stats = {}
        if self.loops:
            kfs = self.db.keyframes
            old = [kf.T_map_camera for kf in kfs]
            new = optimize_pose_graph(old, self.loops)
            for k in poses:
                if k in self.anchor:
                    a = self.anchor[k]
                    poses[k] = new[a] @ inv(old[a]) @ poses[k]
            for kf, T in zip(kfs, new):
                kf.T_map_camera = T
            moved = [np.linalg.norm(n[:3, 3] - o[:3, 3]) for n, o in zip(new, old)]
            loop_stats = {"max_correction_m": float(max(moved))}
        idx = sorted(poses)
        T = np.stack([self.T_world_map @ poses[k] @ self.T_track_out for k in idx]) if idx else np.zeros((0, 4, 4))
        traj = Trajectory(np.array([self.times[k] for k in idx], np.int64), T, body="camera")
        elapsed = time.perf_counter() - self._t0
        n = len(self.status)
        reasons: dict[str, int] = {}
        for s in self.status:
            if not s.tracked:
                key = s.reason.split(";")[0].split(" (")[0]
                reasons[key] = reasons.get(key, 0) + 1
        stats = {
            "frames": n,
            "tracked": int(sum(s.tracked for s in self.status)),
            "lost": int(sum(not s.tracked for s in self.status)),
            "lost_reasons": reasons,
            "keyframes": len(self.db),
            "loop_closures": len(self.loops),
            **loop_stats,
            **self.stats,
            "fps": n / elapsed if elapsed > 0 else 0.0,
            "time_ms_per_frame": {k: 1e3 * v / n for k, v in self._timing.items()},
            "gravity_aligned": self.gravity_aligned,
            "imu": _jsonable(self.imu_stats),
            "map_blocks": self.odo.volume.num_blocks,
        }
        return TrackingResult(traj, self.status, stats, self.config, self.gravity_aligned,
                              [kf.index for kf in self.db.keyframes], [(self.db.keyframes[a].index, self.db.keyframes[b].index) for a, b, _ in self.loops])


def _every(ts: np.ndarray, spacing_s: float) -> np.ndarray:
    """Indices of ``ts`` at least ``spacing_s`` apart, always including the last."""
    out = [len(ts) - 1]
    for k in range(len(ts) - 2, -1, -1):
        if (ts[out[-1]] - ts[k]) * 1e-9 >= spacing_s:
            out.append(k)
    return np.array(out[::-1])


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [_jsonable(v) for v in d]
    if isinstance(d, np.ndarray):
        return d.tolist()
    if isinstance(d, np.generic):
        return d.item()
    return d


def track(session: Session, config: TrackerConfig | None = None, progress: Callable[[int], None] | None = None) -> TrackingResult:
    """Track the camera through ``session`` (RGB-D frames, and IMU when present) and return the
    trajectory with per-frame status (see :class:`Tracker`). ``progress(1)`` is called per frame.

    Raises :class:`CalibrationError` (no intrinsics; ``imu="on"`` without IMU or extrinsics),
    :class:`EmptySessionError` (no RGB-D frames) and :class:`SyncError` (unreadable IMU stream:
    unsorted or duplicate timestamps)."""
    config = config or TrackerConfig()
    if session.num_frames == 0:
        raise EmptySessionError("the session has no RGB-D frames to track", session.path)
    imu = None
    if config.imu != "off":
        try:
            imu = session.imu()
        except SyncError as exc:
            raise SyncError(f"IMU stream unusable for tracking: {exc.problem}", exc.path or session.path) from None
    tracker = Tracker(session.calibration, config, imu, session.path)
    for k, frame in enumerate(session.frames()):
        if config.max_frames is not None and k >= config.max_frames:
            break
        tracker.process(frame)
        if progress is not None:
            progress(1)
    return tracker.finish()
