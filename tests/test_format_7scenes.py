import hashlib
import shutil

import numpy as np
import pytest

import sensors
from sensors import CalibrationError, EmptySessionError, FormatError
from sensors.formats.sevenscenes import SevenScenesReader


def tree_digest(path):
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


@pytest.fixture
def small_seq(shared_data, tmp_path):
    """Five real 7-Scenes frames copied into a scratch folder the test may damage."""
    src = shared_data / "7scenes"
    dst = tmp_path / "seq-01"
    dst.mkdir()
    for i in range(5):
        for kind in ("color.jpg", "depth.png", "pose.txt"):
            shutil.copy(src / f"frame-{i:06d}.{kind}", dst)
    shutil.copy(src / "camera-intrinsics.txt", dst)
    return dst


def test_real_segment(shared_data):
    path = shared_data / "7scenes"
    digest = tree_digest(path)
    with sensors.open(path) as s:
        assert s.format == "7scenes"
        assert s.num_frames == 300
        k = s.calibration.color
        assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height) == (585, 585, 320, 240, 640, 480)
        gt = s.ground_truth.poses
        assert len(gt) == 300
        raw = np.loadtxt(path / "frame-000123.pose.txt")
        assert np.allclose(gt.T_world_body[123], raw, atol=1e-3)
        R = gt.T_world_body[123][:3, :3]
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-9)
        frames = list(s.replay(kinds=("rgbd",)))
    f = frames[42]
    assert f.color.shape == (480, 640, 3) and f.color.dtype == np.uint8
    assert f.depth_m.dtype == np.float32
    valid = f.depth_m[f.depth_m > 0]
    assert valid.min() >= 0.8 and valid.max() <= 3.61
    assert 0.85 < (f.depth_m > 0).mean() < 0.97
    assert f.timestamp_ns == round(42 * 1e9 / 30)
    assert f.color_encoding == "jpeg" and f.color_encoded == (path / "frame-000042.color.jpg").read_bytes()
    assert tree_digest(path) == digest  # reading never touches the input


def test_missing_intrinsics_file_uses_published_values(small_seq):
    (small_seq / "camera-intrinsics.txt").unlink()
    r = SevenScenesReader(small_seq)
    assert r.calibration.color.fx == 585.0


def test_parent_scene_folder_points_to_sequences(small_seq):
    with pytest.raises(EmptySessionError, match="seq-01"):
        SevenScenesReader(small_seq.parent)


def corrupt(path, data):
    path.chmod(0o644)
    path.write_bytes(data)


@pytest.mark.parametrize(
    "damage, error, words",
    [
        (lambda d: (d / "frame-000002.depth.png").unlink(), FormatError, "depth image(s) missing"),
        (lambda d: (d / "frame-000003.pose.txt").unlink(), FormatError, "pose file missing for frame 000003"),
        (lambda d: corrupt(d / "frame-000001.pose.txt", b"1 0 0\n0 1 0\n"), FormatError, "4x4"),
        (lambda d: corrupt(d / "frame-000001.pose.txt", b"nan nan nan nan\n" * 4), FormatError, "NaN"),
        (lambda d: corrupt(d / "camera-intrinsics.txt", b"585 0 320\n0 585 240\n"), CalibrationError, "3x3"),
    ],
)
def test_bad_sequences_rejected_on_open(small_seq, damage, error, words):
    damage(small_seq)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        sensors.open(small_seq)
    assert str(small_seq) in str(e.value)


@pytest.mark.parametrize(
    "name, damage, error, words",
    [
        ("frame-000002.color.jpg", lambda b: b[: len(b) // 2], FormatError, "truncated"),
        ("frame-000002.color.jpg", lambda b: b"\xff\xd8\xff" + b"\x00" * 100 + b"\xff\xd9", FormatError, "corrupt"),
        ("frame-000002.depth.png", lambda b: b[:-30], FormatError, "truncated"),
        ("frame-000002.depth.png", lambda b: b"", FormatError, "empty"),
    ],
)
def test_bad_images_rejected_when_decoded(small_seq, name, damage, error, words):
    f = small_seq / name
    corrupt(f, damage(f.read_bytes()))
    with pytest.raises(error, match=words) as e, sensors.open(small_seq) as s:
        list(s.frames())
    assert name in str(e.value)


def _rewrite_depth(path, transform):
    import cv2

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    path.chmod(0o644)
    assert cv2.imwrite(str(path), transform(raw))


def test_depth_in_wrong_units_is_detected(small_seq):
    # depth stored in 0.1 mm instead of mm: median reads as ~20 m... use metres-as-mm instead
    _rewrite_depth(small_seq / "frame-000000.depth.png", lambda d: (d // 1000).astype(np.uint16))
    with pytest.raises(CalibrationError, match="scale looks too large") as e, sensors.open(small_seq) as s:
        next(s.frames())
    assert "frame-000000.depth.png" in str(e.value)


def test_eight_bit_and_wrong_size_depth(small_seq):
    _rewrite_depth(small_seq / "frame-000000.depth.png", lambda d: (d // 16).astype(np.uint8))
    with pytest.raises(FormatError, match="16-bit"), sensors.open(small_seq) as s:
        next(s.frames())
    _rewrite_depth(small_seq / "frame-000000.depth.png", lambda d: np.full((240, 320), 1500, np.uint16))
    with pytest.raises(FormatError, match="depth image is 320x240"), sensors.open(small_seq) as s:
        next(s.frames())
