"""Trajectory metrics against evo's own implementation, TUM round trip, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sensors.errors import ConfigError, FormatError, SyncError
from sensors.types import Trajectory
from spatial.eval.trajectory import associate, ate, evaluate, read_tum, rpe, umeyama, write_tum

evo_metrics = pytest.importorskip("evo.core.metrics")
from evo.core import sync as evo_sync  # noqa: E402
from evo.core.trajectory import PoseTrajectory3D  # noqa: E402
from evo.core.units import Unit  # noqa: E402


def _random_walk(rng, n, t0_ns=1_000_000_000, dt_ns=33_333_333):
    rot = Rotation.from_rotvec(np.cumsum(rng.normal(0, 0.03, (n, 3)), axis=0))
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, :3] = rot.as_matrix()
    T[:, :3, 3] = np.cumsum(rng.normal(0, 0.02, (n, 3)) + [0.01, 0.0, 0.0], axis=0)  # noqa: RUF005 (array + drift)
    return Trajectory(t0_ns + np.arange(n) * dt_ns, T)


def _perturb(rng, traj, sigma_t=0.01, sigma_r=0.01, drop=0.0, jitter_ns=0):
    keep = rng.random(len(traj)) >= drop
    keep[:3] = True
    T = traj.T_world_body[keep].copy()
    T[:, :3, :3] = Rotation.from_rotvec(rng.normal(0, sigma_r, (len(T), 3))).as_matrix() @ T[:, :3, :3]
    T[:, :3, 3] += rng.normal(0, sigma_t, (len(T), 3))
    # a rigid (and for Sim(3) a scaled) offset of the whole estimate
    G = np.eye(4)
    G[:3, :3] = Rotation.from_rotvec([0.3, -0.2, 1.0]).as_matrix()
    G[:3, 3] = [1.0, -2.0, 0.5]
    T = G @ T
    ts = traj.timestamps_ns[keep] + rng.integers(-jitter_ns, jitter_ns + 1, keep.sum())
    return Trajectory(np.sort(ts), T)


def _evo(traj):
    return PoseTrajectory3D(poses_se3=list(traj.T_world_body), timestamps=traj.timestamps_ns * 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ate_equals_evo(seed):
    rng = np.random.default_rng(seed)
    ref = _random_walk(rng, 200)
    est = _perturb(rng, ref, drop=0.2, jitter_ns=3_000_000)
    for alignment in ("se3", "sim3", "none"):
        mine = ate(ref, est, alignment, max_diff_ns=10_000_000)
        r, e = evo_sync.associate_trajectories(_evo(ref), _evo(est), max_diff=0.01)
        if alignment != "none":
            e.align(r, correct_scale=alignment == "sim3")
        m = evo_metrics.APE(evo_metrics.PoseRelation.translation_part)
        m.process_data((r, e))
        stats = m.get_all_statistics()
        assert mine.stats.count == r.num_poses
        for k in ("rmse", "mean", "median", "std", "min", "max", "sse"):
            assert getattr(mine.stats, k) == pytest.approx(stats[k], rel=1e-9, abs=1e-12), (alignment, k)


@pytest.mark.parametrize(
    ("delta", "unit", "evo_unit", "all_pairs"),
    [(1, "frames", Unit.frames, False), (5, "frames", Unit.frames, True), (0.5, "m", Unit.meters, False),
     (0.5, "m", Unit.meters, True)],
)
def test_rpe_equals_evo(delta, unit, evo_unit, all_pairs):
    rng = np.random.default_rng(7)
    ref = _random_walk(rng, 150)
    est = _perturb(rng, ref)
    for pairs_from in ("reference", "estimate"):
        for relation, field in ((evo_metrics.PoseRelation.translation_part, "trans"),
                                (evo_metrics.PoseRelation.rotation_angle_deg, "rot_deg")):
            mine = rpe(ref, est, delta, unit, all_pairs=all_pairs, pairs_from=pairs_from)
            m = evo_metrics.RPE(relation, delta, evo_unit, 0.1, all_pairs, pairs_from_reference=pairs_from == "reference")
            m.process_data((_evo(ref), _evo(est)))
            stats = m.get_all_statistics()
            mine_stats = getattr(mine, field)
            assert mine_stats.count == len(m.error)
            for k in ("rmse", "mean", "max"):
                assert getattr(mine_stats, k) == pytest.approx(stats[k], rel=1e-7, abs=1e-10)


def test_rpe_per_second_is_frames_at_the_frame_rate():
    rng = np.random.default_rng(3)
    ref = _random_walk(rng, 120, dt_ns=50_000_000)  # 20 Hz: 1 s = 20 frames
    est = _perturb(rng, ref)
    a = rpe(ref, est, 1.0, "s", all_pairs=True)
    b = rpe(ref, est, 20, "frames", all_pairs=True)
    assert np.array_equal(a.pairs, b.pairs)
    assert a.trans.rmse == pytest.approx(b.trans.rmse)


def test_umeyama_recovers_sim3():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    R = Rotation.from_rotvec([0.4, 0.1, -0.7]).as_matrix()
    y = 1.7 * x @ R.T + [1, 2, 3]
    R2, t2, s2 = umeyama(x, y, with_scale=True)
    assert np.allclose(R2, R) and np.allclose(t2, [1, 2, 3]) and s2 == pytest.approx(1.7)
    with pytest.raises(ConfigError, match="collinear"):
        umeyama(np.zeros((5, 3)), np.zeros((5, 3)))


def test_exact_estimate_has_zero_error_and_metrics_dict():
    rng = np.random.default_rng(1)
    ref = _random_walk(rng, 100)
    m = evaluate(ref, ref)
    assert m["ate_rmse_m"] < 1e-9 and m["rpe_trans_m_per_s"] < 1e-9 and m["matched_poses"] == 100


def test_association_without_overlap_raises():
    rng = np.random.default_rng(1)
    ref = _random_walk(rng, 10)
    late = Trajectory(ref.timestamps_ns + 10**12, ref.T_world_body)
    with pytest.raises(SyncError, match="no poses"):
        associate(ref, late)


def test_tum_round_trip_readable_by_evo(tmp_path):
    from evo.tools import file_interface

    rng = np.random.default_rng(2)
    ref = _random_walk(rng, 30)
    path = write_tum(ref, tmp_path / "trajectory.tum")
    back = read_tum(path)
    assert np.array_equal(back.timestamps_ns, ref.timestamps_ns)
    assert np.allclose(back.T_world_body, ref.T_world_body, atol=1e-8)
    ev = file_interface.read_tum_trajectory_file(str(path))
    assert np.allclose(ev.positions_xyz, ref.positions_m, atol=1e-8)
    bad = tmp_path / "bad.tum"
    bad.write_text("0.0 1 2 3\n")
    with pytest.raises(FormatError, match="expected 8 fields") as exc:
        read_tum(bad)
    assert "bad.tum" in str(exc.value)


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from spatial.eval.trajectory import plot

    rng = np.random.default_rng(4)
    ref = _random_walk(rng, 40)
    est = _perturb(rng, ref)
    lost = np.zeros(len(est), bool)
    lost[10:15] = True
    out = plot(ref, est, tmp_path / "traj.png", lost=lost)
    assert out.stat().st_size > 5000
