"""Azure Kinect MKV reader: the real pyk4a test recording and broken copies made in tmp_path."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from expect import raises_naming

import sensors
from sensors import CalibrationError, FormatError
from sensors.formats.k4a_mkv import K4aMkvReader


@pytest.fixture(scope="module")
def mkv(shared_data: Path) -> Path:
    return shared_data / "azure_kinect" / "recording.mkv"


@pytest.fixture(scope="module")
def session(mkv: Path) -> sensors.Session:
    return sensors.open(mkv, format="k4a-mkv")


@pytest.fixture(scope="module")
def frame(session):
    frames = list(session.frames())
    assert len(frames) == 1
    return frames[0]


# -- real recording -------------------------------------------------------------------------------
def test_real_frame(session, frame):
    assert frame.timestamp_ns == 800_222_000 and frame.depth_timestamp_ns == 800_222_000  # device µs → ns
    assert frame.color.shape == (720, 1280, 3) and frame.color.dtype == np.uint8
    assert frame.color_encoding == "jpeg" and frame.color_encoded[:3] == b"\xff\xd8\xff"
    d = frame.depth_m
    assert d.shape == (576, 640) and d.dtype == np.float32
    valid = d[d > 0]
    assert valid.size / d.size == pytest.approx(0.76, abs=0.01)
    assert float(np.median(valid)) == pytest.approx(1.491, abs=1e-6)
    assert float(valid.max()) == pytest.approx(3.690, abs=1e-6)
    assert frame.intrinsics == session.calibration.color and frame.depth_intrinsics == session.calibration.depth


def test_real_timestamps_and_pairing(session):
    ts = session.timestamps()
    for k in ("rgbd", "color", "depth"):
        assert ts[k].tolist() == [800_222_000]
    assert ts["imu"].tolist() == [336_277_000]
    assert len(session.reader.association) == 1
    kinds = [r.kind for r in session.reader.records()]
    assert kinds == ["imu", "rgbd"]


def test_real_imu_sample(session):
    imu = session.imu()
    assert len(imu) == 1 and int(imu.timestamps_ns[0]) == 336_277_000
    np.testing.assert_allclose(imu.accel_mps2[0], [-2.888193130493164, -0.19380511343479156, -9.43713665008545])
    # gyro is rotated from its own axes into the accelerometer's (a 0.22° correction)
    np.testing.assert_allclose(imu.gyro_radps[0], [-0.00101460, -0.00194777, 0.00602348], atol=5e-5)


def test_real_intrinsics_follow_the_sdk_mode_tables(session, mkv):
    cal = json.loads(Path(mkv.parent / "calibration.json").read_text())["CalibrationInformation"]
    depth_n, color_n = (c["Intrinsics"]["ModelParameters"] for c in cal["Cameras"])
    c = session.calibration.color  # MJPG_720P: 4096x3072 sensor binned to 1280x960, cropped 120 rows at the top
    assert (c.width, c.height) == (1280, 720)
    assert c.fx == pytest.approx(color_n[2] * 1280) and c.fy == pytest.approx(color_n[3] * 960)
    assert c.cx == pytest.approx(color_n[0] * 1280 - 0.5) and c.cy == pytest.approx(color_n[1] * 960 - 120 - 0.5)
    assert c.fx == pytest.approx(611.795, abs=1e-3) and c.cy == pytest.approx(365.853, abs=1e-3)
    d = session.calibration.depth  # NFOV_UNBINNED: 1024x1024 sensor cropped by (192, 180) to 640x576
    assert (d.width, d.height) == (640, 576)
    assert d.fx == pytest.approx(depth_n[2] * 1024) and d.fy == pytest.approx(depth_n[3] * 1024)
    assert d.cx == pytest.approx(depth_n[0] * 1024 - 192 - 0.5) and d.cy == pytest.approx(depth_n[1] * 1024 - 180 - 0.5)
    # OpenCV rational order (k1, k2, p1, p2, k3..k6); the JSON stores ... codx, cody, p2, p1
    k1, k2, k3, k4, k5, k6, _, _, p2, p1 = color_n[4:14]
    assert c.distortion == (k1, k2, p1, p2, k3, k4, k5, k6) and c.distortion_model == "rational_polynomial"


def test_real_extrinsics(session):
    cal = session.calibration
    assert not cal.depth_registered and cal.time_offset_ns == 0
    # colour camera sits 32 mm to the depth camera's -x, translation in metres
    np.testing.assert_allclose(cal.T_color_depth[:3, 3], [-0.0320834, -0.0022054, 0.0038837], atol=1e-6)
    tilt = np.degrees(np.arccos(np.clip((np.trace(cal.T_color_depth[:3, :3]) - 1) / 2, -1, 1)))
    assert 4.0 < tilt < 6.0  # the depth camera is tilted ~5° down from the colour camera
    # physical check: the specific force rotated into the colour camera points up, i.e. -y in OpenCV axes
    acc_cam = np.linalg.inv(cal.T_imu_camera)[:3, :3] @ session.imu().accel_mps2[0]
    assert acc_cam[1] < -9.0 and np.linalg.norm(acc_cam) == pytest.approx(9.87, abs=0.01)


def test_readahead_matches_inline(session):
    a, b = list(session.replay(readahead=0)), list(session.replay(readahead=4))
    assert [x.timestamp_ns for x in a] == [x.timestamp_ns for x in b]
    np.testing.assert_array_equal(a[1].depth_m, b[1].depth_m)


def test_detect(mkv, tmp_path):
    assert K4aMkvReader.detect(mkv)
    other = tmp_path / "video.mkv"
    _remux(mkv, other, ("COLOR",), attach=False, k4a_tags=False)
    assert not K4aMkvReader.detect(other)
    assert not K4aMkvReader.detect(tmp_path / "missing.mkv")
    assert not K4aMkvReader.detect(mkv.parent / "calibration.json")


# -- raw colour modes (720p_NV12, 720p_YUY2, BGRA32) ----------------------------------------------
def _raw_color_copy(src: Path, dst: Path, pix_fmt: str, rgb: np.ndarray, cut: int = 0) -> Path:
    """``src`` with its colour frame stored raw in ``pix_fmt`` (as k4arecorder's raw modes do, in a
    Matroska video track), built from ``rgb``; ``cut`` bytes are dropped from the frame. FFmpeg's
    muxer does not know the depth track's ``b16g`` FourCC, so it is written back into the track's
    BITMAPINFOHEADER and ColourSpace afterwards."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    y, u, v = i420[: h * w], i420[h * w: h * w * 5 // 4], i420[h * w * 5 // 4:]
    if pix_fmt == "nv12":
        raw = np.concatenate([y, np.stack([u, v], 1).reshape(-1)])
    elif pix_fmt == "yuyv422":  # chroma of each row pair shared, as 4:2:0 → 4:2:2 upsampling does
        uu, vv = (np.repeat(c.reshape(h // 2, w // 2), 2, axis=0) for c in (u, v))
        raw = np.stack([y.reshape(h, w)[:, 0::2], uu, y.reshape(h, w)[:, 1::2], vv], -1)
    else:
        raw = np.dstack([rgb[..., ::-1], np.full((h, w), 255, np.uint8)])
    raw = raw.tobytes()[: len(raw.tobytes()) - cut]
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="matroska", options={"allow_raw_vfw": "1"}) as out:
        out.metadata.update(inp.metadata)
        mapping = {}
        for s in inp.streams:
            title = s.metadata.get("title")
            if s.type == "video" and title == "COLOR":
                o = out.add_stream("rawvideo", rate=30)
                o.width, o.height, o.pix_fmt, o.time_base = w, h, pix_fmt, s.time_base
            elif s.type == "video" and title == "DEPTH":
                o = out.add_stream_from_template(s)
            else:
                if s.type == "attachment":
                    out.add_attachment(s.name, s.mimetype, s.data)
                continue
            o.metadata.update(s.metadata)
            mapping[s.index] = o
        for p in inp.demux([inp.streams[i] for i in mapping]):
            if not p.size:
                continue
            o = mapping[p.stream.index]
            if o.metadata.get("title") == "COLOR":
                q = av.Packet(raw)
                q.pts, q.dts, q.time_base = p.pts, p.dts, p.time_base
                p = q
            p.stream = o
            out.mux(p)
    data = dst.read_bytes()
    bitmap = struct.pack("<IiiHHI", 40, 640, -576, 1, 16, 0)  # depth BITMAPINFOHEADER: 16 bits, "BI_RGB"
    colour_space = b"\x2e\xb5\x24\x84" + bytes(4)  # the track's Matroska ColourSpace element, also zero
    i = data.index(colour_space, data.index(b"DEPTH"))  # the depth track's (a raw BGRA track has one too)
    assert data.count(bitmap) == 1
    data = data[:i + 4] + b"b16g" + data[i + 8:]
    dst.write_bytes(data.replace(bitmap, bitmap[:-4] + b"b16g"))
    return dst


@pytest.mark.parametrize("pix_fmt", ["nv12", "yuyv422", "bgra"])
def test_raw_colour_modes(mkv, frame, tmp_path, pix_fmt):
    path = _raw_color_copy(mkv, tmp_path / f"{pix_fmt}.mkv", pix_fmt, frame.color)
    with sensors.open(path) as s:
        (f,) = list(s.frames())
    assert f.color_encoded is None and f.color.shape == frame.color.shape
    np.testing.assert_array_equal(f.depth_m, frame.depth_m)
    err = np.abs(f.color.astype(int) - frame.color.astype(int))
    assert err.mean() < (0.01 if pix_fmt == "bgra" else 2.5), err.mean()  # YUV 4:2:0 chroma and rounding
    bad = _raw_color_copy(mkv, tmp_path / f"cut_{pix_fmt}.mkv", pix_fmt, frame.color, cut=100)
    with sensors.open(bad) as s, pytest.raises(FormatError, match=f"{pix_fmt} frame has .* bytes, expected") as e:
        list(s.frames())
    assert str(bad) in str(e.value)


# -- bad inputs -----------------------------------------------------------------------------------
def _remux(src: Path, dst: Path, tracks: tuple[str, ...], attach: bool = True, k4a_tags: bool = True) -> Path:
    """Copy the named tracks (and the calibration attachment) of ``src`` into a new MKV."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="matroska") as out:
        if k4a_tags:
            out.metadata.update(inp.metadata)
        mapping = {}
        for s in inp.streams:
            if s.type == "video" and s.metadata.get("title") in tracks:
                o = out.add_stream_from_template(s)
                if k4a_tags:
                    o.metadata.update(s.metadata)
                mapping[s.index] = o
            elif s.type == "attachment" and attach:
                out.add_attachment(s.name, s.mimetype, s.data)
        for p in inp.demux([inp.streams[i] for i in mapping]):
            if p.size:
                p.stream = mapping[p.stream.index]
                out.mux(p)
    return dst


def _raises(exc_type, path: Path, *words: str):
    raises_naming(exc_type, lambda: K4aMkvReader(path), path, *words)


def test_truncated_copy(mkv, tmp_path):
    bad = tmp_path / "truncated.mkv"
    bad.write_bytes(mkv.read_bytes()[:1_000_000])  # FFmpeg alone would silently drop the IR block
    _raises(FormatError, bad, "truncated", "1699264", "1000000")
    tiny = tmp_path / "tiny.mkv"
    tiny.write_bytes(mkv.read_bytes()[:20])
    _raises(FormatError, tiny, "header is truncated")


def test_random_bytes(tmp_path):
    bad = tmp_path / "random.mkv"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _raises(FormatError, bad, "not a Matroska")


def test_missing_depth_track(mkv, tmp_path):
    bad = _remux(mkv, tmp_path / "no_depth.mkv", ("COLOR",))
    _raises(FormatError, bad, "no DEPTH track")


def test_missing_calibration_attachment(mkv, tmp_path):
    # rename the attachment (same length, so the file stays valid) so neither its tag nor its name match
    data = mkv.read_bytes().replace(b"calibration.json", b"calibrat10n.json").replace(b"_CALIBRATION_FILE", b"_CALIBRAT10N_FILE")
    bad = tmp_path / "no_calibration.mkv"
    bad.write_bytes(data)
    _raises(CalibrationError, bad, "no calibration.json attachment")


def test_corrupt_colour_frame_fails_when_loaded(mkv, tmp_path):
    with av.open(str(mkv)) as c:
        jpeg = next(bytes(p) for p in c.demux(c.streams.video[0]) if p.size)
    data = bytearray(mkv.read_bytes())
    end = data.find(jpeg) + len(jpeg)
    data[end - 2 : end] = b"\0\0"  # wipe the JPEG end-of-image marker
    bad = tmp_path / "corrupt_colour.mkv"
    bad.write_bytes(bytes(data))
    with sensors.open(bad, format="k4a-mkv") as s, pytest.raises(FormatError) as err:
        list(s.frames())
    assert str(bad) in str(err.value) and "colour frame 0" in str(err.value) and "truncated" in str(err.value)
