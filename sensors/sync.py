"""Time synchronisation shared by every reader and driver.

* :func:`check_timestamps` rejects non-monotonic or duplicate timestamps with the file named;
* :func:`associate` pairs two streams (colour↔depth) by nearest timestamp within a max gap;
* :func:`stream_stats` measures rate, dropped frames and timestamp jumps;
* :class:`ImuSeries` interpolates IMU readings and slices them between frames;
* :func:`sync_report` gathers all of it for ``spatial info``.

All timestamps are int64 nanoseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import EmptySessionError, SyncError
from .types import ImuSample

NS = 1_000_000_000


def check_timestamps(ts: np.ndarray, path: str | Path | None, what: str, strict: bool = True) -> np.ndarray:
    """Return ``ts`` as int64, raising :class:`SyncError` on decreasing (or, when ``strict``,
    duplicate) timestamps. The message names the file, the stream and the offending rows."""
    ts = np.asarray(ts, dtype=np.int64).reshape(-1)
    if len(ts) < 2:
        return ts
    d = np.diff(ts)
    bad = np.flatnonzero(d < 0) if not strict else np.flatnonzero(d <= 0)
    if len(bad):
        i = int(bad[0])
        kind = "duplicate" if d[i] == 0 else "non-monotonic"
        raise SyncError(
            f"{kind} {what} timestamps: entry {i + 1} has {ts[i + 1]} ns after {ts[i]} ns "
            f"({len(bad)} such place{'s' if len(bad) > 1 else ''})",
            path,
        )
    return ts


@dataclass(frozen=True)
class Association:
    """Result of :func:`associate`: index pairs and how well they matched."""

    index_a: np.ndarray  # (M,) indices into stream a
    index_b: np.ndarray  # (M,) indices into stream b
    gaps_ns: np.ndarray  # (M,) |t_a - t_b|
    unmatched_a: int
    unmatched_b: int

    def __len__(self) -> int:
        return len(self.index_a)


def associate(ts_a: np.ndarray, ts_b: np.ndarray, max_gap_ns: int) -> Association:
    """Match each timestamp of ``a`` with its nearest in ``b`` within ``max_gap_ns``, one-to-one.

    Greedy by increasing gap, as the TUM ``associate.py`` tool does, so each ``b`` is used once;
    pairs come back sorted by ``a``.
    """
    ts_a = np.asarray(ts_a, dtype=np.int64)
    ts_b = np.asarray(ts_b, dtype=np.int64)
    if len(ts_a) == 0 or len(ts_b) == 0:
        e = np.zeros(0, dtype=np.int64)
        return Association(e, e, e, len(ts_a), len(ts_b))
    # candidate neighbours: the two b's around each a
    j = np.searchsorted(ts_b, ts_a)
    cand_a, cand_b = [], []
    for off in (-1, 0):
        k = j + off
        ok = (k >= 0) & (k < len(ts_b))
        cand_a.append(np.flatnonzero(ok))
        cand_b.append(k[ok])
    ca = np.concatenate(cand_a)
    cb = np.concatenate(cand_b)
    gap = np.abs(ts_a[ca] - ts_b[cb])
    keep = gap <= max_gap_ns
    ca, cb, gap = ca[keep], cb[keep], gap[keep]
    order = np.lexsort((ca, gap))
    used_a = np.zeros(len(ts_a), bool)
    used_b = np.zeros(len(ts_b), bool)
    pa, pb, pg = [], [], []
    for i in order:
        a, b = ca[i], cb[i]
        if not used_a[a] and not used_b[b]:
            used_a[a] = used_b[b] = True
            pa.append(a)
            pb.append(b)
            pg.append(gap[i])
    pa_arr = np.array(pa, dtype=np.int64)
    srt = np.argsort(pa_arr, kind="stable")
    return Association(
        pa_arr[srt],
        np.array(pb, dtype=np.int64)[srt],
        np.array(pg, dtype=np.int64)[srt],
        int(len(ts_a) - len(pa)),
        int(len(ts_b) - len(pb)),
    )


@dataclass(frozen=True)
class StreamStats:
    """Timing statistics of one stream."""

    count: int
    start_ns: int
    end_ns: int
    rate_hz: float  # from the median interval
    dropped: int  # frames missing, judged from intervals longer than 1.5x the median
    jumps: int  # intervals longer than 10x the median (or backwards): clock resets, pauses
    max_interval_ns: int

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS

    def to_dict(self) -> dict:
        return asdict(self) | {"duration_s": self.duration_s}


def stream_stats(ts: np.ndarray) -> StreamStats:
    """Rate, dropped-frame and timestamp-jump statistics of a sorted timestamp array."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) == 0:
        return StreamStats(0, 0, 0, 0.0, 0, 0, 0)
    if len(ts) == 1:
        return StreamStats(1, int(ts[0]), int(ts[0]), 0.0, 0, 0, 0)
    d = np.diff(ts)
    med = float(np.median(d))
    if med <= 0:
        return StreamStats(len(ts), int(ts[0]), int(ts[-1]), 0.0, 0, int(np.sum(d < 0)), int(d.max()))
    ratio = d / med
    jumps = int(np.sum((ratio > 10) | (d < 0)))
    late = (ratio > 1.5) & (ratio <= 10)
    dropped = int(np.sum(np.round(ratio[late]) - 1))
    return StreamStats(len(ts), int(ts[0]), int(ts[-1]), NS / med, dropped, jumps, int(d.max()))


class ImuSeries:
    """A time-sorted IMU stream as arrays, with interpolation and between-frame slicing.

    ``timestamps_ns`` (N,) int64, ``accel_mps2`` (N, 3), ``gyro_radps`` (N, 3), IMU frame.
    """

    def __init__(self, timestamps_ns: np.ndarray, accel_mps2: np.ndarray, gyro_radps: np.ndarray) -> None:
        self.timestamps_ns = check_timestamps(timestamps_ns, None, "IMU")
        self.accel_mps2 = np.asarray(accel_mps2, dtype=np.float64).reshape(-1, 3)
        self.gyro_radps = np.asarray(gyro_radps, dtype=np.float64).reshape(-1, 3)
        if not (len(self.timestamps_ns) == len(self.accel_mps2) == len(self.gyro_radps)):
            raise SyncError("IMU timestamps, accelerometer and gyroscope arrays differ in length")

    @classmethod
    def from_samples(cls, samples: list[ImuSample]) -> ImuSeries:
        if not samples:
            return cls(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
        return cls(
            np.array([s.timestamp_ns for s in samples], dtype=np.int64),
            np.stack([s.accel_mps2 for s in samples]),
            np.stack([s.gyro_radps for s in samples]),
        )

    def __len__(self) -> int:
        return len(self.timestamps_ns)

    def __getitem__(self, i: int) -> ImuSample:
        return ImuSample(int(self.timestamps_ns[i]), self.accel_mps2[i], self.gyro_radps[i])

    def interpolate(self, timestamp_ns: int) -> ImuSample:
        """Linearly interpolated reading at ``timestamp_ns`` (must lie inside the series)."""
        ts = self.timestamps_ns
        if len(ts) == 0 or not ts[0] <= timestamp_ns <= ts[-1]:
            raise SyncError(f"cannot interpolate IMU at {timestamp_ns} ns: outside the IMU stream")
        j = int(np.searchsorted(ts, timestamp_ns))
        if ts[j] == timestamp_ns:
            return self[j]
        a = (timestamp_ns - int(ts[j - 1])) / (int(ts[j]) - int(ts[j - 1]))
        return ImuSample(
            int(timestamp_ns),
            (1 - a) * self.accel_mps2[j - 1] + a * self.accel_mps2[j],
            (1 - a) * self.gyro_radps[j - 1] + a * self.gyro_radps[j],
        )

    def between(self, t0_ns: int, t1_ns: int, interpolate_ends: bool = True) -> ImuSeries:
        """Readings in ``[t0_ns, t1_ns]``; with ``interpolate_ends`` the first and last samples are
        interpolated exactly at ``t0_ns`` and ``t1_ns`` so integrating the slices of consecutive
        frame intervals covers time without gaps or overlaps."""
        if t1_ns < t0_ns:
            raise SyncError(f"IMU slice end {t1_ns} ns is before its start {t0_ns} ns")
        ts = self.timestamps_ns
        lo, hi = np.searchsorted(ts, t0_ns, "left"), np.searchsorted(ts, t1_ns, "right")
        t, a, g = ts[lo:hi], self.accel_mps2[lo:hi], self.gyro_radps[lo:hi]
        if interpolate_ends and len(ts) and ts[0] <= t0_ns and t1_ns <= ts[-1]:
            first, last = self.interpolate(t0_ns), self.interpolate(t1_ns)
            if not len(t) or t[0] != t0_ns:
                t = np.concatenate([[t0_ns], t])
                a = np.vstack([first.accel_mps2, a])
                g = np.vstack([first.gyro_radps, g])
            if t[-1] != t1_ns:
                t = np.concatenate([t, [t1_ns]])
                a = np.vstack([a, last.accel_mps2])
                g = np.vstack([g, last.gyro_radps])
        return ImuSeries(t, a, g)


@dataclass(frozen=True)
class SyncReport:
    """What ``spatial info`` prints about timing: per-stream stats and colour↔depth matching."""

    streams: dict[str, StreamStats]
    rgbd_pairs: int | None = None
    rgbd_unmatched_color: int | None = None
    rgbd_unmatched_depth: int | None = None
    rgbd_max_gap_ms: float | None = None
    rgbd_mean_gap_ms: float | None = None
    imu_time_offset_ns: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["streams"] = {k: v.to_dict() for k, v in self.streams.items()}
        return d


def sync_report(
    timestamps: dict[str, np.ndarray],
    association: Association | None = None,
    imu_time_offset_ns: int = 0,
) -> SyncReport:
    """Build a :class:`SyncReport` from per-stream timestamps and an optional colour↔depth match."""
    if not timestamps or all(len(t) == 0 for t in timestamps.values()):
        raise EmptySessionError("session has no time-stamped data")
    stats = {k: stream_stats(v) for k, v in timestamps.items()}
    if association is None:
        return SyncReport(stats, imu_time_offset_ns=imu_time_offset_ns)
    g = association.gaps_ns
    return SyncReport(
        stats,
        rgbd_pairs=len(association),
        rgbd_unmatched_color=association.unmatched_a,
        rgbd_unmatched_depth=association.unmatched_b,
        rgbd_max_gap_ms=float(g.max() / 1e6) if len(g) else 0.0,
        rgbd_mean_gap_ms=float(g.mean() / 1e6) if len(g) else 0.0,
        imu_time_offset_ns=imu_time_offset_ns,
    )
