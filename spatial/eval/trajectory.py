"""Trajectory metrics: association, Umeyama alignment, ATE and RPE, TUM files, plots.

Numbers follow evo's definitions (``evo_ape`` / ``evo_rpe``), so results can be compared with
published figures:

* :func:`associate` pairs poses by nearest timestamp within ``max_diff_ns`` (evo's
  ``associate_trajectories``: every pose of the shorter trajectory looks for its nearest
  neighbour in the longer one);
* :func:`umeyama` is the least-squares SE(3)/Sim(3) fit of Umeyama (1991);
* :func:`ate` is the RMSE (and other statistics) of the translation difference after alignment;
* :func:`rpe` compares relative motions over pose pairs ``delta`` frames, metres of travelled
  path or seconds apart: translation error in metres and rotation error in degrees of
  ``inv(inv(Q_i) Q_j) inv(P_i) P_j``.

Trajectories are :class:`sensors.types.Trajectory` (``T_world_body``, int ns timestamps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from sensors.errors import ConfigError, SyncError
from sensors.formats._atomic import atomic_path
from sensors.formats.tum import TumReader, format_time
from sensors.types import Trajectory, orthonormalize

Alignment = Literal["se3", "sim3", "none"]
DeltaUnit = Literal["frames", "m", "s"]


def associate(ref: Trajectory, est: Trajectory, max_diff_ns: int = 10_000_000, offset_ns: int = 0) -> tuple[Trajectory, Trajectory]:
    """Pose pairs at (nearly) the same time: ``(ref, est)`` reduced to matching poses, in order.

    Each pose of the trajectory with fewer poses takes the nearest pose of the other within
    ``max_diff_ns`` (``offset_ns`` is added to ``est``'s timestamps before matching). Raises
    :class:`SyncError` when nothing matches."""
    short_is_ref = len(ref) <= len(est)
    short, long_ = (ref, est) if short_is_ref else (est, ref)
    off = offset_ns if short_is_ref else -offset_ns
    ts_s, ts_l = short.timestamps_ns, long_.timestamps_ns + off
    ia, ib = [], []
    for i, t in enumerate(ts_s):
        if not len(ts_l) or t < ts_l[0] - max_diff_ns or t > ts_l[-1] + max_diff_ns:
            continue
        j = min(int(np.searchsorted(ts_l, t, side="right")), len(ts_l) - 1)
        ub = int(ts_l[j]) - int(t)
        lb = int(t) - int(ts_l[j - 1]) if j > 0 else np.inf
        if ub <= max_diff_ns and ub < lb:
            ia.append(i)
            ib.append(j)
        elif lb <= max_diff_ns and lb <= ub:
            ia.append(i)
            ib.append(j - 1)
    if not ia:
        raise SyncError(f"no poses of the estimate match the reference within {max_diff_ns / 1e6:g} ms")
    s = Trajectory(short.timestamps_ns[ia], short.T_world_body[ia], short.body)
    # the longer trajectory may pick one pose twice; keep the short one's stamps for both
    l_ = Trajectory(short.timestamps_ns[ia], long_.T_world_body[ib], long_.body)
    return (s, l_) if short_is_ref else (l_, s)


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """``(R, t, s)`` minimising ``Σ |dst_i − (s R src_i + t)|²`` for (N, 3) point sets."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3:
        raise ConfigError(f"umeyama needs two (N, 3) arrays of equal shape, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    var_s = (xs**2).sum() / len(src)
    U, d, Vt = np.linalg.svd(xd.T @ xs / len(src))
    if np.count_nonzero(d > np.finfo(float).eps) < 2:
        raise ConfigError(f"cannot align: the {len(src)} positions are (nearly) collinear or identical")
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1
    R = U @ S @ Vt
    s = float(np.trace(np.diag(d) @ S) / var_s) if with_scale else 1.0
    return R, mu_d - s * R @ mu_s, s


def align(est: Trajectory, ref: Trajectory, method: Alignment = "se3") -> tuple[Trajectory, np.ndarray, float]:
    """``est`` moved onto the associated ``ref`` (same length): ``(aligned, T_ref_est, scale)``.
    With ``sim3`` the positions are also scaled (``p' = s R p + t``)."""
    if method not in ("se3", "sim3", "none"):
        raise ConfigError(f"alignment must be 'se3', 'sim3' or 'none', got '{method}'")
    T = np.eye(4)
    if method == "none":
        return est, T, 1.0
    R, t, s = umeyama(est.positions_m, ref.positions_m, with_scale=method == "sim3")
    T[:3, :3], T[:3, 3] = R, t
    P = est.T_world_body.copy()
    P[:, :3, :3] = R @ P[:, :3, :3]
    P[:, :3, 3] = s * P[:, :3, 3] @ R.T + t
    return Trajectory(est.timestamps_ns, P, est.body), T, s


@dataclass(frozen=True)
class ErrorStats:
    """Summary statistics of one error sequence (evo's ``get_all_statistics``)."""

    rmse: float
    mean: float
    median: float
    std: float
    min: float
    max: float
    sse: float
    count: int

    @classmethod
    def of(cls, e: np.ndarray) -> ErrorStats:
        e = np.asarray(e, float)
        if len(e) == 0:
            return cls(*(float("nan"),) * 7, 0)
        return cls(float(np.sqrt(np.mean(e**2))), float(e.mean()), float(np.median(e)), float(e.std()),
                   float(e.min()), float(e.max()), float((e**2).sum()), len(e))


@dataclass(frozen=True)
class AteResult:
    """Absolute trajectory error (metres) after alignment; ``errors_m`` per associated pose."""

    stats: ErrorStats
    errors_m: np.ndarray = field(repr=False)
    T_ref_est: np.ndarray = field(repr=False)
    scale: float
    alignment: str

    @property
    def rmse_m(self) -> float:
        return self.stats.rmse


@dataclass(frozen=True)
class RpeResult:
    """Relative pose error over pose pairs ``delta`` ``unit`` apart: translation (metres) and
    rotation (degrees) per pair; ``pairs`` are index pairs into the associated trajectories."""

    delta: float
    unit: str
    trans: ErrorStats
    rot_deg: ErrorStats
    trans_errors_m: np.ndarray = field(repr=False)
    rot_errors_deg: np.ndarray = field(repr=False)
    pairs: np.ndarray = field(repr=False)


def ate(ref: Trajectory, est: Trajectory, alignment: Alignment = "se3", max_diff_ns: int = 10_000_000) -> AteResult:
    """ATE of ``est`` against ``ref``: associate by time, align (``se3``/``sim3``/``none``), then
    statistics of ``|p_ref − p_est|`` (evo_ape ``-a`` / ``-as``, translation part)."""
    r, e = associate(ref, est, max_diff_ns)
    if alignment != "none" and len(r) < 3:
        raise SyncError(f"ATE with {alignment} alignment needs at least 3 associated poses, got {len(r)}")
    e_al, T, s = align(e, r, alignment)
    err = np.linalg.norm(r.positions_m - e_al.positions_m, axis=1)
    return AteResult(ErrorStats.of(err), err, T, s, alignment)


def _pairs(traj: Trajectory, delta: float, unit: DeltaUnit, rel_tol: float, all_pairs: bool) -> list[tuple[int, int]]:
    n = len(traj)
    if unit == "frames":
        k = int(delta)
        if k != delta or k < 1:
            raise ConfigError(f"RPE delta in frames must be a positive integer, got {delta}")
        if all_pairs:
            return [(i, i + k) for i in range(n - k)]
        ids = list(range(0, n, k))
        return list(pairwise(ids))
    if unit == "m":
        steps = np.linalg.norm(np.diff(traj.positions_m, axis=0), axis=1)
        if all_pairs:
            dist = np.concatenate([[0.0], np.cumsum(steps)])
            out = []
            for i in range(n - 1):
                rest = dist[i + 1:] - dist[i]
                c = int(np.argmin(np.abs(rest - delta)))
                if abs(rest[c] - delta) <= delta * rel_tol:
                    out.append((i, c + i + 1))
            return out
        ids, acc = [0], 0.0
        for i, st in enumerate(steps, start=1):
            acc += float(st)
            if acc >= delta:
                ids.append(i)
                acc = 0.0
        return list(pairwise(ids))
    if unit == "s":
        t = (traj.timestamps_ns - traj.timestamps_ns[0]) * 1e-9
        if all_pairs:
            j = np.searchsorted(t, t + delta - 1e-9)
            return [(i, int(j[i])) for i in range(n) if j[i] < n and abs(t[j[i]] - t[i] - delta) <= delta * rel_tol]
        ids = [0]
        for i in range(1, n):
            if t[i] - t[ids[-1]] >= delta - 1e-9:
                ids.append(i)
        return list(pairwise(ids))
    raise ConfigError(f"RPE delta unit must be 'frames', 'm' or 's', got '{unit}'")


def rpe(
    ref: Trajectory,
    est: Trajectory,
    delta: float = 1.0,
    unit: DeltaUnit = "m",
    all_pairs: bool = False,
    rel_tol: float = 0.1,
    pairs_from: Literal["reference", "estimate"] = "reference",
    max_diff_ns: int = 10_000_000,
) -> RpeResult:
    """RPE of ``est`` against ``ref`` over pairs ``delta`` frames / metres of path / seconds apart.

    Pairs are chosen on the ``pairs_from`` trajectory: consecutive non-overlapping segments, or
    with ``all_pairs`` every start pose with the end pose closest to ``delta`` (within
    ``rel_tol · delta``), as evo_rpe (``--pairs_from_reference``) does for frames and metres."""
    from scipy.spatial.transform import Rotation

    if not delta > 0:
        raise ConfigError(f"RPE delta must be positive, got {delta}")
    r, e = associate(ref, est, max_diff_ns)
    pairs = _pairs(r if pairs_from == "reference" else e, delta, unit, rel_tol, all_pairs)
    if not pairs:
        raise SyncError(f"no pose pairs {delta:g} {unit} apart in a trajectory of {len(r)} poses")
    ij = np.array(pairs, dtype=np.int64)
    Q, P = r.T_world_body, e.T_world_body
    Qrel = np.linalg.inv(Q[ij[:, 0]]) @ Q[ij[:, 1]]
    Prel = np.linalg.inv(P[ij[:, 0]]) @ P[ij[:, 1]]
    E = np.linalg.inv(Qrel) @ Prel
    te = np.linalg.norm(E[:, :3, 3], axis=1)
    re = np.degrees(Rotation.from_matrix(E[:, :3, :3]).magnitude())
    return RpeResult(float(delta), unit, ErrorStats.of(te), ErrorStats.of(re), te, re, ij)


def evaluate(ref: Trajectory, est: Trajectory, alignment: Alignment = "se3", max_diff_ns: int = 10_000_000) -> dict:
    """The figures ``metrics.json`` holds: ATE (with ``alignment``), RPE per metre and per second
    (translation m and rotation deg, RMSE), and how many poses matched. A segment length that the
    trajectory is too short for is reported as ``None``."""
    res = ate(ref, est, alignment, max_diff_ns)
    r, _ = associate(ref, est, max_diff_ns)
    out = {
        "ate_rmse_m": res.stats.rmse,
        "ate": asdict(res.stats),
        "alignment": alignment,
        "scale": res.scale,
        "matched_poses": res.stats.count,
        "reference_poses": len(ref),
        "estimated_poses": len(est),
        "duration_s": float((r.timestamps_ns[-1] - r.timestamps_ns[0]) * 1e-9),
        "path_length_m": float(np.linalg.norm(np.diff(r.positions_m, axis=0), axis=1).sum()),
    }
    for unit, name in (("m", "per_m"), ("s", "per_s")):
        try:
            x = rpe(ref, est, 1.0, unit, all_pairs=True, max_diff_ns=max_diff_ns)
            out[f"rpe_trans_m_{name}"] = x.trans.rmse
            out[f"rpe_rot_deg_{name}"] = x.rot_deg.rmse
        except SyncError:
            out[f"rpe_trans_m_{name}"] = out[f"rpe_rot_deg_{name}"] = None
    return out


# -- files ------------------------------------------------------------------------------------
def write_tum(traj: Trajectory, path: str | Path) -> Path:
    """Write a TUM trajectory (``timestamp tx ty tz qx qy qz qw``: seconds with 9 decimals, then
    full-precision floats; readable by evo and TUM's tools), atomically."""
    from scipy.spatial.transform import Rotation

    path = Path(path)
    q = Rotation.from_matrix(np.stack([orthonormalize(T)[:3, :3] for T in traj.T_world_body])).as_quat() if len(traj) else np.zeros((0, 4))
    lines = [f"# {traj.body} poses T_world_{traj.body}", "# timestamp tx ty tz qx qy qz qw"]
    for t, p, qq in zip(traj.timestamps_ns, traj.positions_m, q):
        lines.append(f"{format_time(int(t))} " + " ".join(repr(float(v)) for v in (*p, *qq)))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def read_tum(path: str | Path, body: str = "camera") -> Trajectory:
    """Read a TUM trajectory file (raises :class:`~sensors.errors.FormatError` naming the line)."""
    t = TumReader._trajectory(Path(path))
    return Trajectory(t.timestamps_ns, t.T_world_body, body)


def plot(ref: Trajectory | None, est: Trajectory, path: str | Path, alignment: Alignment = "se3",
         title: str = "trajectory", lost: np.ndarray | None = None) -> Path:
    """Top view (x–y) and per-pose ATE over time, as a PNG/SVG/PDF at ``path`` (``viz`` extra).
    ``est`` is aligned onto ``ref`` first; ``lost`` (bool per estimated pose) marks lost frames."""
    from sensors.errors import require

    require("matplotlib", "viz", "trajectory plots")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(1, 2 if ref is not None else 1, figsize=(11 if ref is not None else 6, 4.5), squeeze=False)
    ax = axes[0, 0]
    shown = est
    if ref is not None:
        r, e = associate(ref, est)
        shown, _, _ = align(e, r, alignment) if alignment != "none" else (e, None, 1.0)
        ax.plot(ref.positions_m[:, 0], ref.positions_m[:, 1], "k-", lw=1, label="reference")
    ax.plot(shown.positions_m[:, 0], shown.positions_m[:, 1], "-", color="tab:blue", lw=1, label="estimate")
    if lost is not None and len(lost) == len(est) and np.any(lost):
        p = est.positions_m[np.asarray(lost, bool)]
        if shown is not est:
            _, T, s = align(*associate(ref, est)[::-1], alignment)
            p = s * p @ T[:3, :3].T + T[:3, 3]
        ax.plot(p[:, 0], p[:, 1], "x", color="tab:red", ms=4, label="lost")
    ax.set(xlabel="x [m]", ylabel="y [m]", title=title, aspect="equal")
    ax.legend(loc="best", fontsize=8)
    if ref is not None:
        res = ate(ref, est, alignment)
        r, _ = associate(ref, est)
        t = (r.timestamps_ns - r.timestamps_ns[0]) * 1e-9
        axes[0, 1].plot(t, res.errors_m * 100, color="tab:blue", lw=1)
        axes[0, 1].set(xlabel="time [s]", ylabel="ATE [cm]", title=f"ATE RMSE {res.rmse_m * 100:.2f} cm ({alignment})")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
