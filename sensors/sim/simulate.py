"""Write a simulated capture: room → scan trajectory → IMU + rendered RGB-D → MCAP recording.

The output is the SDK's recording format (:mod:`sensors.formats.mcap`), so ``sensors.open`` reads
it like any capture, plus two ground-truth sidecars next to it that the MCAP reader picks up:
``<stem>.mesh.ply`` (the room's triangle mesh, world frame, metres, face colours by part),
``<stem>.room.json`` (the room description, RoomPlan-shaped; see :mod:`sensors.room`) and
``<stem>.imu_truth.npz`` (IMU poses, velocities and biases per sample).

Time: the camera clock starts at :data:`T0_NS`; frame ``k`` is captured at ``T0_NS + k/fps`` and
stamped with optional jitter. Ground-truth camera poses are the true poses at capture time,
listed under the frames' stamps (so evaluation associates them exactly). The IMU model and its
clock offset are described in :mod:`sensors.sim.imu`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..formats._atomic import atomic_path
from ..formats._io import encode_color
from ..formats.mcap import McapWriter, sidecar_paths
from ..sync import ImuSeries
from ..types import Calibration, GroundTruth, ImuNoise, RGBDFrame, Trajectory
from .config import SimConfig
from .imu import ImuTruth, synthesize_imu
from .noise import SensorModel
from .render import Renderer
from .rooms import generate_world
from .trajectory import DEFAULT_T_IMU_CAMERA, ScanTrajectory, plan_scan
from .world import SimWorld

T0_NS = 1_000_000_000  # the camera clock at the first frame (room for negative IMU clock offsets)
MAX_CLOCK_OFFSET_NS = T0_NS // 2


def plan(config: SimConfig) -> tuple[SimWorld, ScanTrajectory]:
    """The room and the scan trajectory of ``config`` (deterministic)."""
    world = generate_world(config.preset, config.seed, **config.room_overrides())
    return world, plan_scan(world, config.rng(1), duration_s=config.duration_s)


def frame_times(config: SimConfig, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(true capture times, stamps) in ns on the camera clock, after drops and jitter."""
    period = 1e9 / config.fps
    k = np.arange(int(np.floor(duration_s * config.fps)) + 1)
    true = T0_NS + np.round(k * period).astype(np.int64)
    rng = config.rng(2)
    keep = rng.random(len(k)) >= config.frame_drop_rate
    keep[0] = True
    jitter = np.clip(rng.normal(0.0, config.frame_jitter_ns, len(k)), -0.45 * period, 0.45 * period)
    stamps = true + np.round(jitter).astype(np.int64)
    return true[keep], stamps[keep]


def simulate(
    config: SimConfig,
    out: str | Path,
    progress: Callable[[int], None] | None = None,
    planned: tuple[SimWorld, ScanTrajectory] | None = None,
) -> Path:
    """Simulate ``config`` into the MCAP file ``out`` (atomically) and write the ground-truth
    sidecars. ``progress(1)`` is called per rendered frame; ``planned`` is :func:`plan`'s result
    when the caller already has it. The resolved config is stored in the recording's
    ``spatial.sim`` metadata. Returns ``out``."""
    out = Path(out)
    if out.suffix.lower() != ".mcap":
        raise ConfigError(f"simulated sessions are written as .mcap recordings, got '{out.suffix}'", out)
    if abs(config.imu_clock_offset_ns) > MAX_CLOCK_OFFSET_NS:
        raise ConfigError(f"imu_clock_offset_ns must be within ±{MAX_CLOCK_OFFSET_NS} ns, got {config.imu_clock_offset_ns}")
    world, traj = planned or plan(config)
    K = config.intrinsics()
    true_ns, stamp_ns = frame_times(config, traj.duration_s)
    noise = ImuNoise() if config.imu_noise else None
    imu, truth = synthesize_imu(
        traj, DEFAULT_T_IMU_CAMERA, config.imu_rate_hz, noise, config.rng(3),
        config.imu_clock_offset_ns, config.imu_jitter_ns, config.imu_drop_rate,
    )
    # IMU stamps relative to the trajectory's t = 0 → camera clock (plus the IMU clock offset,
    # removed here when the calibration is to state it: recordings hold data on one clock)
    shift = T0_NS - (config.imu_clock_offset_ns if config.offset_in_calibration else 0)
    imu = ImuSeries(imu.timestamps_ns + shift, imu.accel_mps2, imu.gyro_radps)
    calibration = Calibration(
        color=K, T_imu_camera=DEFAULT_T_IMU_CAMERA, depth_scale=1000.0, imu_noise=ImuNoise(),
        time_offset_ns=-config.imu_clock_offset_ns if config.offset_in_calibration else 0,
    )
    t_s = (true_ns - T0_NS) * 1e-9
    gt = GroundTruth(poses=Trajectory(stamp_ns, traj.pose(t_s), body="camera"))
    renderer = Renderer(world, K, SensorModel(depth_noise=config.depth_noise, max_depth_m=config.max_depth_m), seed=config.seed)
    rng = config.rng(4)
    j = 0
    meta = {"spatial.sim": {"json": config.model_dump_json()}}
    with McapWriter(out, calibration, gt, source_format="sim", metadata=meta) as writer:
        for i, (t, stamp) in enumerate(zip(t_s, stamp_ns)):
            while j < len(imu) and imu.timestamps_ns[j] <= stamp:
                writer.write(imu[j])
                j += 1
            color, depth, _ = renderer.render(gt.poses.T_world_body[i], rng, float(t))
            # the colour array is not re-decoded: the writer stores only the JPEG bytes
            jpeg = encode_color(color, "jpeg", config.jpeg_quality)
            writer.write(RGBDFrame(int(stamp), color, depth, K, depth_timestamp_ns=int(stamp), index=i,
                                   color_encoded=jpeg, color_encoding="jpeg"))
            if progress is not None:
                progress(1)
        while j < len(imu):
            writer.write(imu[j])
            j += 1
    write_ground_truth(world, out)
    _write_imu_truth(traj, imu, truth, T0_NS, sidecar_paths(out)["imu_path"])
    return out


def write_ground_truth(world: SimWorld, out: str | Path) -> dict[str, Path]:
    """Write the room mesh (PLY) and description (JSON) sidecars of recording ``out``."""
    import trimesh

    paths = sidecar_paths(out)
    verts, tris, owner = world.mesh_arrays()
    tint = np.array([p.tint for p in world.parts])[owner]
    mesh = trimesh.Trimesh(verts, tris, face_colors=np.clip(tint * 255, 0, 255).astype(np.uint8), process=False)
    with atomic_path(paths["mesh_path"]) as tmp:
        tmp.write_bytes(mesh.export(file_type="ply"))
    world.room.save_json(paths["room_path"])
    return paths


def _write_imu_truth(traj: ScanTrajectory, imu: ImuSeries, truth: ImuTruth, t0_ns: int, path: Path) -> None:
    """The IMU's truth per recorded sample: ``timestamps_ns`` (as recorded), ``true_time_ns``
    (camera clock), ``T_world_imu`` (N, 4, 4), ``velocity_world_mps``, ideal ``gyro_radps`` /
    ``accel_mps2`` and the biases ``gyro_bias_radps`` / ``accel_bias_mps2``."""
    t_s = truth.true_time_ns * 1e-9
    _save_npz(
        path,
        timestamps_ns=imu.timestamps_ns,
        true_time_ns=truth.true_time_ns + t0_ns,
        T_world_imu=traj.T_world_imu(t_s, DEFAULT_T_IMU_CAMERA),
        velocity_world_mps=traj.imu_motion(t_s, DEFAULT_T_IMU_CAMERA)[2],
        gyro_radps=truth.gyro_radps,
        accel_mps2=truth.accel_mps2,
        gyro_bias_radps=truth.gyro_bias_radps,
        accel_bias_mps2=truth.accel_bias_mps2,
    )


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` with fixed zip timestamps, so the same arrays give the same bytes."""
    import io
    import zipfile

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue(), zipfile.ZIP_DEFLATED)
