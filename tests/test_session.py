"""Session behaviour shared by every format: order, determinism, read-ahead, pacing, errors."""

import itertools
import threading
import time
from functools import partial

import numpy as np
import pytest

from sensors import (
    CameraIntrinsics,
    ConfigError,
    EmptySessionError,
    FormatError,
    ImuSample,
    Reader,
    Record,
    RGBDFrame,
    Session,
)

K = CameraIntrinsics(50.0, 50.0, 16.0, 12.0, 32, 24)
FRAME_NS = 33_333_333
IMU_NS = 5_000_000


class SyntheticReader(Reader):
    """A real Reader over generated arrays: lets the tests control decode time and failures."""

    format_name = "synthetic"

    def __init__(self, n_frames=20, fail_at=None, jitter_s=0.0):
        super().__init__("synthetic")
        self.n_frames, self.fail_at, self.jitter_s = n_frames, fail_at, jitter_s
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def _frame(self, i):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        rng = np.random.default_rng(i)
        time.sleep(self.jitter_s * rng.random())  # decode times vary so workers finish out of order
        if i == self.fail_at:
            raise FormatError("corrupt frame", f"frame-{i}.png")
        color = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        return RGBDFrame(i * FRAME_NS, color, np.full((24, 32), 1.0 + i, np.float32), K, index=i)

    def timestamps(self):
        return {
            "rgbd": np.arange(self.n_frames, dtype=np.int64) * FRAME_NS,
            "imu": np.arange(self.n_frames * FRAME_NS // IMU_NS, dtype=np.int64) * IMU_NS,
        }

    def records(self):
        imu = [Record(int(t), "imu", ImuSample(int(t), np.full(3, t / 1e9), np.zeros(3))) for t in self.timestamps()["imu"]]
        frames = [Record(i * FRAME_NS, "rgbd", partial(self._frame, i)) for i in range(self.n_frames)]
        yield from sorted(imu + frames, key=lambda r: (r.timestamp_ns, r.kind))

    def consumed(self):
        with self.lock:
            self.in_flight -= 1


def collect(items):
    out = []
    for x in items:
        if isinstance(x, RGBDFrame):
            out.append(("f", x.timestamp_ns, x.color.tobytes(), x.depth_m.tobytes()))
        else:
            out.append(("i", x.timestamp_ns, x.accel_mps2.tobytes()))
    return out


def test_replay_is_time_ordered_and_identical_with_or_without_readahead():
    s = Session(SyntheticReader(jitter_s=0.003))
    plain = collect(s.replay(readahead=0))
    ahead = collect(s.replay(readahead=6, workers=3))
    again = collect(s)
    assert plain == ahead == again
    ts = [x[1] for x in plain]
    assert ts == sorted(ts)
    assert sum(1 for x in plain if x[0] == "f") == 20


def test_kinds_filter_and_frames_with_imu():
    s = Session(SyntheticReader(n_frames=5))
    assert all(isinstance(f, RGBDFrame) for f in s.frames())
    assert len(list(s.replay(kinds=("imu",)))) == len(s.timestamps()["imu"])
    pairs = list(s.frames_with_imu())
    assert len(pairs[0][1]) == 0
    for (prev, _), (frame, imu) in itertools.pairwise(pairs):
        assert imu.timestamps_ns[0] == prev.timestamp_ns and imu.timestamps_ns[-1] == frame.timestamp_ns


def test_readahead_memory_is_bounded():
    reader = SyntheticReader(n_frames=60)
    s = Session(reader)
    for _x in s.replay(readahead=4, workers=2, kinds=("rgbd",)):
        time.sleep(0.002)  # slow consumer: the producer must wait, not run ahead
        reader.consumed()
    # queue depth + one item blocked in put + one being consumed
    assert reader.max_in_flight <= 4 + 2


def test_worker_error_reaches_consumer_and_threads_stop():
    before = threading.active_count()
    s = Session(SyntheticReader(fail_at=7))
    got = []
    with pytest.raises(FormatError, match="frame-7.png: corrupt frame"):
        for f in s.frames():
            got.append(f.index)
    assert got == list(range(7))
    time.sleep(0.05)
    assert threading.active_count() <= before


def test_early_break_cleans_up():
    before = threading.active_count()
    s = Session(SyntheticReader(n_frames=200, jitter_s=0.001))
    for i, _ in enumerate(s.frames()):
        if i == 3:
            break
    time.sleep(0.05)
    assert threading.active_count() <= before


def test_realtime_pacing_with_speed():
    s = Session(SyntheticReader(n_frames=7))  # 0.2 s of data
    t0 = time.monotonic()
    n = sum(1 for _ in s.replay(realtime=True, speed=2.0, kinds=("rgbd",)))
    elapsed = time.monotonic() - t0
    assert n == 7
    assert 0.09 <= elapsed < 0.5  # 6 intervals of 33 ms at 2x = 0.1 s


def test_bad_replay_settings_and_empty_session():
    s = Session(SyntheticReader(n_frames=1))
    with pytest.raises(ConfigError):
        next(s.replay(readahead=-1))
    with pytest.raises(ConfigError):
        next(s.replay(realtime=True, speed=0))
    empty = Session(SyntheticReader(n_frames=0))
    for ra in (0, 4):
        with pytest.raises(EmptySessionError):
            list(empty.replay(readahead=ra))


def test_summary_reports_streams():
    s = Session(SyntheticReader(n_frames=30))
    summ = s.summary()
    assert summ.sync.streams["rgbd"].count == 30
    assert summ.sync.streams["rgbd"].rate_hz == pytest.approx(30.0, rel=1e-3)
    assert summ.sync.streams["imu"].rate_hz == pytest.approx(200.0)
    assert "rgbd" in str(summ) and summ.to_dict()["format"] == "synthetic"
    assert s.num_frames == 30 and s.duration_s == pytest.approx(29 * FRAME_NS / 1e9, rel=0.05)


def test_every_skips_frames_without_decoding_them():
    reader = SyntheticReader(n_frames=10)
    s = Session(reader)
    frames = list(s.replay(kinds=("rgbd",), every=3))
    assert [f.index for f in frames] == [0, 3, 6, 9]
    assert reader.max_in_flight <= 4  # only the kept frames were ever decoded
    assert reader.in_flight == 4
    with pytest.raises(ConfigError):
        next(s.replay(every=0))
