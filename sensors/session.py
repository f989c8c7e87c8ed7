"""Sessions: a capture's streams, calibration and ground truth, replayed in time order.

A format module provides a :class:`Reader` (one per format); :func:`sensors.open` wraps it in a
:class:`Session`, which adds what every format shares: read-ahead decoding on worker threads,
real-time pacing, stream filtering and the summary that ``spatial info`` prints.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np

from .errors import ConfigError, EmptySessionError
from .sync import Association, ImuSeries, SyncReport, sync_report
from .types import Calibration, GroundTruth, ImuSample, RGBDFrame

Item = RGBDFrame | ImuSample


class Record(NamedTuple):
    """One entry of a reader's time-ordered index.

    ``kind`` is ``"rgbd"`` or ``"imu"``; ``load`` is the decoded item or a zero-argument callable
    that decodes it (run on a worker thread during read-ahead, so it must not depend on the
    order in which records are loaded).
    """

    timestamp_ns: int
    kind: str
    load: Item | Callable[[], Item]


class Reader(ABC):
    """Base class of format readers. Subclasses set ``format_name``, fill ``calibration`` (and
    ``ground_truth`` when present) in ``__init__``, and implement :meth:`timestamps` and
    :meth:`records`. A reader never writes to its input."""

    format_name: ClassVar[str] = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.calibration: Calibration = Calibration()
        self.ground_truth: GroundTruth | None = None
        self.association: Association | None = None  # colour↔depth matching, when done

    @classmethod
    def detect(cls, path: Path) -> bool:
        """Whether ``path`` looks like this format (cheap: names and magic bytes only)."""
        return False

    @abstractmethod
    def timestamps(self) -> dict[str, np.ndarray]:
        """Per-stream int64 timestamps (ns, session clock): ``"rgbd"`` for the associated frames
        that :meth:`records` yields, ``"imu"``, and raw streams such as ``"color"``/``"depth"``."""

    @abstractmethod
    def records(self) -> Iterator[Record]:
        """Yield :class:`Record` s in non-decreasing timestamp order. May be called repeatedly;
        each call starts from the beginning and yields the same data."""

    def imu(self) -> ImuSeries:
        """All IMU readings as arrays (override when the format can do it faster)."""
        return ImuSeries.from_samples(
            [r.load if not callable(r.load) else r.load() for r in self.records() if r.kind == "imu"]
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release open files."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class SessionSummary:
    """What ``spatial info`` reports about a session."""

    path: str
    format: str
    sync: SyncReport
    calibration: Calibration
    ground_truth_poses: int
    ground_truth_body: str | None

    @property
    def duration_s(self) -> float:
        """From the first to the last timestamp of any stream."""
        live = [s for s in self.sync.streams.values() if s.count]
        return (max(s.end_ns for s in live) - min(s.start_ns for s in live)) / 1e9 if live else 0.0

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "duration_s": self.duration_s,
            "streams": {k: v.to_dict() for k, v in self.sync.streams.items()},
            "sync": {k: v for k, v in self.sync.to_dict().items() if k != "streams"},
            "calibration": self.calibration.to_dict(),
            "ground_truth": {"poses": self.ground_truth_poses, "body": self.ground_truth_body},
        }

    def __str__(self) -> str:
        lines = [f"{self.path} ({self.format}), {self.duration_s:.2f} s"]
        for name, s in self.sync.streams.items():
            lines.append(
                f"  {name:<13} {s.count:>7} msgs  {s.rate_hz:7.2f} Hz  {s.duration_s:8.2f} s"
                f"  dropped {s.dropped}  jumps {s.jumps}"
            )
        if self.sync.rgbd_pairs is not None:
            lines.append(
                f"  colour/depth pairs {self.sync.rgbd_pairs}, unmatched colour {self.sync.rgbd_unmatched_color}, "
                f"depth {self.sync.rgbd_unmatched_depth}, gap mean {self.sync.rgbd_mean_gap_ms:.2f} ms "
                f"max {self.sync.rgbd_max_gap_ms:.2f} ms"
            )
        c = self.calibration
        if c.color:
            lines.append(f"  colour camera  {c.color.width}x{c.color.height} fx={c.color.fx:.2f} fy={c.color.fy:.2f}")
        if c.depth:
            lines.append(f"  depth camera   {c.depth.width}x{c.depth.height} fx={c.depth.fx:.2f} fy={c.depth.fy:.2f}")
        lines.append(f"  depth scale    {c.depth_scale:g} units/m, IMU time offset {c.time_offset_ns} ns")
        lines.append(f"  ground truth   {self.ground_truth_poses} poses" + (f" ({self.ground_truth_body})" if self.ground_truth_body else ""))
        return "\n".join(lines)


_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Session:
    """A capture opened for replay. Iterating yields :class:`RGBDFrame` and :class:`ImuSample`
    objects in timestamp order, decoded lazily with read-ahead (see :meth:`replay`).

    Use as a context manager (or call :meth:`close`) to release the underlying files.
    """

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self._timestamps: dict[str, np.ndarray] | None = None

    # -- metadata ---------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.reader.path

    @property
    def format(self) -> str:
        return self.reader.format_name

    @property
    def calibration(self) -> Calibration:
        return self.reader.calibration

    @property
    def ground_truth(self) -> GroundTruth | None:
        return self.reader.ground_truth

    def timestamps(self) -> dict[str, np.ndarray]:
        """Per-stream timestamps in ns (cached)."""
        if self._timestamps is None:
            self._timestamps = self.reader.timestamps()
        return self._timestamps

    @property
    def streams(self) -> list[str]:
        return [k for k, v in self.timestamps().items() if len(v)]

    @property
    def num_frames(self) -> int:
        return len(self.timestamps().get("rgbd", ()))

    @property
    def start_ns(self) -> int:
        return min(int(v[0]) for v in self.timestamps().values() if len(v))

    @property
    def end_ns(self) -> int:
        return max(int(v[-1]) for v in self.timestamps().values() if len(v))

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def summary(self) -> SessionSummary:
        gt = self.ground_truth.poses if self.ground_truth else None
        ts = dict(self.timestamps())
        if gt is not None:
            ts["ground_truth"] = gt.timestamps_ns
        return SessionSummary(
            str(self.path),
            self.format,
            sync_report(ts, self.reader.association, self.calibration.time_offset_ns),
            self.calibration,
            len(gt) if gt is not None else 0,
            gt.body if gt is not None else None,
        )

    # -- data ---------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Item]:
        return self.replay()

    def frames(self, **kw) -> Iterator[RGBDFrame]:
        """Only the RGB-D frames (IMU records are skipped without being decoded)."""
        return self.replay(kinds=("rgbd",), **kw)  # type: ignore[return-value]

    def imu(self) -> ImuSeries:
        """All IMU readings as arrays, on the session clock."""
        return self.reader.imu()

    def frames_with_imu(self, **kw) -> Iterator[tuple[RGBDFrame, ImuSeries]]:
        """Each frame with the IMU readings since the previous frame (interpolated at both ends
        when the IMU covers them; empty before the first frame)."""
        imu = self.imu()
        prev: int | None = None
        for frame in self.frames(**kw):
            if prev is None or len(imu) == 0:
                sl = ImuSeries(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)))
            else:
                sl = imu.between(prev, frame.timestamp_ns)
            prev = frame.timestamp_ns
            yield frame, sl

    def replay(
        self,
        readahead: int = 8,
        workers: int = 2,
        realtime: bool = False,
        speed: float = 1.0,
        kinds: tuple[str, ...] = ("rgbd", "imu"),
        every: int = 1,
    ) -> Iterator[Item]:
        """Iterate the session in timestamp order.

        ``readahead``: how many records may be decoded ahead of the consumer on ``workers``
        threads (0 decodes inline on the caller's thread). Memory stays bounded by it.
        ``realtime``: pace the output at wall-clock rate divided by ``speed``.
        ``kinds``: which record kinds to yield. ``every``: keep one RGB-D frame in ``every`` (the
        others are skipped undecoded). The output is identical whatever the other settings.
        """
        if readahead < 0 or workers < 1 or every < 1:
            raise ConfigError(
                f"readahead must be >= 0, workers and every >= 1; got {readahead}, {workers} and {every}"
            )
        if realtime and not speed > 0:
            raise ConfigError(f"replay speed must be positive, got {speed}")
        records = self._select(self.reader.records(), kinds, every)
        items = self._inline(records) if readahead == 0 else self._readahead(records, readahead, workers)
        return self._paced(items, speed) if realtime else items

    @staticmethod
    def _select(records: Iterator[Record], kinds: tuple[str, ...], every: int) -> Iterator[Record]:
        n = 0
        for r in records:
            if r.kind not in kinds:
                continue
            if r.kind == "rgbd":
                n += 1
                if (n - 1) % every:
                    continue
            yield r

    @staticmethod
    def _inline(records: Iterator[Record]) -> Iterator[Item]:
        any_ = False
        for r in records:
            any_ = True
            yield r.load() if callable(r.load) else r.load
        if not any_:
            raise EmptySessionError("session yielded no records")

    @staticmethod
    def _readahead(records: Iterator[Record], depth: int, workers: int) -> Iterator[Item]:
        q: queue.Queue = queue.Queue(maxsize=depth)
        stop = threading.Event()
        pool = ThreadPoolExecutor(workers, thread_name_prefix="sensors-decode")

        def put(x) -> bool:
            while not stop.is_set():
                try:
                    q.put(x, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for r in records:
                    item = pool.submit(r.load) if callable(r.load) else r.load
                    if not put(item):
                        return
            except BaseException as exc:  # handed to the consumer, re-raised there
                put(_Failure(exc))
            finally:
                put(_END)
                records.close()

        thread = threading.Thread(target=produce, name="sensors-readahead", daemon=True)
        thread.start()
        n = 0
        try:
            while True:
                x = q.get()
                if x is _END:
                    break
                if isinstance(x, _Failure):
                    raise x.exc
                n += 1
                yield x.result() if isinstance(x, Future) else x
            if n == 0:
                raise EmptySessionError("session yielded no records")
        finally:
            stop.set()
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
            thread.join()
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _paced(items: Iterator[Item], speed: float) -> Iterator[Item]:
        t0: int | None = None
        wall0 = 0.0
        for item in items:
            if t0 is None:
                t0, wall0 = item.timestamp_ns, time.monotonic()
            due = wall0 + (item.timestamp_ns - t0) / 1e9 / speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield item

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r}, format={self.format!r})"
