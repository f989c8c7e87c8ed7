"""ScanNet (SensReader export) reader.

shared/data has no exported ScanNet RGB-D frames (its ScanNet folders hold point clouds and
meshes), so each test writes a scene in SensReader's exact layout from real 7-Scenes frames:
colour resized to ScanNet's 1296x968, the real 640x480 millimetre depth, real camera-to-world
poses written as SensReader does (``%f``, one row per line).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from expect import raises_naming, read_all

import sensors
from sensors.errors import CalibrationError, ConfigError, FormatError
from sensors.formats.scannet import ScanNetReader
from sensors.types import orthonormalize

IDS = (0, 9, 40)  # lexical order would be 0, 40, 9; 0 → 40 moves ~10 cm, enough to test poses
W, H = 1296, 968
K_COLOR = np.array([[585.0 * W / 640, 0, 648.0], [0, 585.0 * H / 480, 484.0], [0, 0, 1]])
K_DEPTH = np.array([[585.0, 0, 320.0], [0, 585.0, 240.0], [0, 0, 1]])


def _save_mat(M: np.ndarray, f: Path) -> None:
    # SensorData.save_mat_to_file: np.savetxt(row, fmt='%f') per row
    f.write_text("".join(" ".join(f"{v:f}" for v in row) + "\n" for row in M))


def _K4(K: np.ndarray) -> np.ndarray:
    M = np.eye(4)
    M[:3, :3] = K
    return M


def make_scene(root: Path, seven: Path, ids=IDS) -> Path:
    for d in ("color", "depth", "pose", "intrinsic"):
        (root / d).mkdir(parents=True)
    for i in ids:
        bgr = cv2.imread(str(seven / f"frame-{i:06d}.color.jpg"))
        cv2.imwrite(str(root / "color" / f"{i}.jpg"), cv2.resize(bgr, (W, H), interpolation=cv2.INTER_LINEAR))
        shutil.copyfile(seven / f"frame-{i:06d}.depth.png", root / "depth" / f"{i}.png")
        _save_mat(np.loadtxt(seven / f"frame-{i:06d}.pose.txt"), root / "pose" / f"{i}.txt")
    _save_mat(_K4(K_COLOR), root / "intrinsic" / "intrinsic_color.txt")
    _save_mat(_K4(K_DEPTH), root / "intrinsic" / "intrinsic_depth.txt")
    _save_mat(np.eye(4), root / "intrinsic" / "extrinsic_color.txt")
    _save_mat(np.eye(4), root / "intrinsic" / "extrinsic_depth.txt")
    return root


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def reprojection_error_m(f_a, f_b, T_a: np.ndarray, T_b: np.ndarray) -> float:
    """Median |predicted − observed| depth of frame a's points seen in frame b (depth camera)."""
    K = f_a.depth_intrinsics or f_a.intrinsics
    v, u = np.nonzero(f_a.depth_m[::4, ::4])
    v, u = v * 4, u * 4
    z = f_a.depth_m[v, u].astype(np.float64)
    p = np.stack([(u - K.cx) / K.fx * z, (v - K.cy) / K.fy * z, z, np.ones_like(z)])
    q = np.linalg.inv(T_b) @ T_a @ p
    ub, vb = np.rint(K.fx * q[0] / q[2] + K.cx).astype(int), np.rint(K.fy * q[1] / q[2] + K.cy).astype(int)
    h, w = f_b.depth_m.shape
    ok = (q[2] > 0) & (ub >= 0) & (ub < w) & (vb >= 0) & (vb < h)
    zb = f_b.depth_m[vb[ok], ub[ok]]
    good = zb > 0
    assert good.sum() > 1000, "frames must overlap"
    return float(np.median(np.abs(q[2][ok][good] - zb[good])))


@pytest.fixture
def seven(shared_data: Path) -> Path:
    return shared_data / "7scenes"


@pytest.fixture
def scene(tmp_path: Path, seven: Path) -> Path:
    return make_scene(tmp_path / "scene0000_00", seven)


def test_shared_scannet_folders_hold_no_rgbd_frames(shared_data: Path) -> None:
    for name in ("scannet_scene0000_00", "scannet_scene0470_00_scan2cad"):
        folder = shared_data / name
        assert folder.is_dir()
        assert not any(p.suffix in (".jpg", ".png") for p in folder.rglob("*"))
        assert not ScanNetReader.detect(folder)


def test_reads_scene_in_numeric_order_with_unregistered_calibration(scene: Path, seven: Path) -> None:
    before = tree_state(scene)
    assert ScanNetReader.detect(scene) and not ScanNetReader.detect(seven)
    with sensors.open(scene, format="scannet") as s:
        assert s.format == "scannet"
        frames = list(s.frames())
        cal = s.calibration
        gt = s.ground_truth.poses
    assert [f.index for f in frames] == [0, 1, 2]
    expected_ts = [round(i * 1e9 / 30) for i in IDS]
    assert [f.timestamp_ns for f in frames] == expected_ts == [0, 300_000_000, 1_333_333_333]
    assert not cal.depth_registered and cal.depth_scale == 1000.0
    assert (cal.color.width, cal.color.height, cal.depth.width, cal.depth.height) == (W, H, 640, 480)
    np.testing.assert_allclose(cal.color.K, K_COLOR, atol=1e-6)
    np.testing.assert_allclose(cal.depth.K, K_DEPTH, atol=1e-6)
    np.testing.assert_array_equal(cal.T_color_depth, np.eye(4))
    for f, i in zip(frames, IDS, strict=True):
        assert f.color.shape == (H, W, 3) and f.color.dtype == np.uint8
        assert f.intrinsics == cal.color and f.depth_intrinsics == cal.depth
        raw = cv2.imread(str(seven / f"frame-{i:06d}.depth.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(f.depth_m, np.where(raw == 65535, 0, raw / np.float32(1000)).astype(np.float32))
        assert f.color_encoding == "jpeg" and f.color_encoded == (scene / "color" / f"{i}.jpg").read_bytes()
    np.testing.assert_array_equal(gt.timestamps_ns, expected_ts)
    for T, i in zip(gt.T_world_body, IDS, strict=True):
        np.testing.assert_allclose(T, orthonormalize(np.loadtxt(seven / f"frame-{i:06d}.pose.txt")), atol=2e-6)
    # real geometry: frame 0's depth, moved through the poses, lands on frame 40's depth
    # (7 mm median here; swapped, inverted or identity poses give 14-30 cm)
    assert reprojection_error_m(frames[0], frames[2], gt.T_world_body[0], gt.T_world_body[2]) < 0.03
    assert tree_state(scene) == before


def test_invalid_minus_inf_poses_are_left_out_of_ground_truth(scene: Path) -> None:
    _save_mat(np.full((4, 4), -np.inf), scene / "pose" / "9.txt")
    assert (scene / "pose" / "9.txt").read_text().startswith("-inf -inf")
    r = ScanNetReader(scene)
    assert len(list(r.records())) == 3  # the frame is still replayed
    np.testing.assert_array_equal(r.ground_truth.poses.timestamps_ns, [0, 1_333_333_333])
    for k in range(3):
        _save_mat(np.full((4, 4), -np.inf), scene / "pose" / f"{IDS[k]}.txt")
    assert ScanNetReader(scene).ground_truth is None


def test_extrinsics_and_options(scene: Path, seven: Path) -> None:
    T_base_depth = np.eye(4)
    T_base_depth[:3, 3] = (0.025, -0.001, 0.002)
    _save_mat(T_base_depth, scene / "intrinsic" / "extrinsic_depth.txt")
    r = ScanNetReader(scene, fps=15.0)
    np.testing.assert_allclose(r.calibration.T_color_depth, T_base_depth)
    assert r.timestamps()["rgbd"].tolist() == [0, 600_000_000, 2_666_666_667]
    shutil.rmtree(scene / "pose")
    assert ScanNetReader(scene).ground_truth is None


def _expect(exc_type, scene_path: Path, where: Path, *words: str, load: bool = False):
    raises_naming(exc_type, lambda: read_all(ScanNetReader(scene_path)) if load else ScanNetReader(scene_path), where, *words)


def test_missing_scene_folder(tmp_path: Path) -> None:
    _expect(FormatError, tmp_path / "nope", tmp_path / "nope", "scene folder")


def test_missing_color_folder(scene: Path) -> None:
    shutil.rmtree(scene / "color")
    _expect(FormatError, scene, scene / "color", "folder is missing")


def test_missing_intrinsic_folder(scene: Path) -> None:
    shutil.rmtree(scene / "intrinsic")
    _expect(CalibrationError, scene, scene / "intrinsic", "folder is missing", "intrinsic_color.txt", "--export_intrinsics")


def test_missing_depth_intrinsics_file(scene: Path) -> None:
    (scene / "intrinsic" / "intrinsic_depth.txt").unlink()
    _expect(CalibrationError, scene, scene / "intrinsic", "intrinsic_depth.txt missing")


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("intrinsic_color.txt", "585 0 320\n0 585 240\n0 0 1\n", "4x4"),
        ("intrinsic_depth.txt", "0 0 320 0\n0 585 240 0\n0 0 1 0\n0 0 0 1\n", "positive focal length"),
        ("extrinsic_depth.txt", "2 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n", "not a proper rotation"),
    ],
)
def test_malformed_calibration_file(scene: Path, name: str, text: str, problem: str) -> None:
    f = scene / "intrinsic" / name
    f.write_text(text)
    _expect(CalibrationError, scene, f, problem)


def test_non_numeric_file_name(scene: Path) -> None:
    shutil.copyfile(scene / "color" / "0.jpg", scene / "color" / "frame_a.jpg")
    _expect(FormatError, scene, scene / "color" / "frame_a.jpg", "not a frame number")


def test_mismatched_color_and_depth_counts(scene: Path) -> None:
    (scene / "depth" / "40.png").unlink()
    _expect(FormatError, scene, scene / "depth" / "40.png", "missing", "color/ has 3 frames, depth/ has 2")


def test_missing_pose_file(scene: Path) -> None:
    (scene / "pose" / "9.txt").unlink()
    _expect(FormatError, scene, scene / "pose" / "9.txt", "pose file missing")


def test_partly_infinite_pose(scene: Path) -> None:
    f = scene / "pose" / "40.txt"
    M = np.loadtxt(f)
    M[0, 3] = np.nan
    _save_mat(M, f)
    _expect(FormatError, scene, f, "NaN/infinite")


def test_truncated_color_image(scene: Path) -> None:
    f = scene / "color" / "40.jpg"
    f.write_bytes(f.read_bytes()[:5000])
    _expect(FormatError, scene, f, "truncated", load=True)


def test_depth_in_wrong_units(scene: Path) -> None:
    f = scene / "depth" / "9.png"
    raw = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(f), np.where(raw == 65535, 0, raw // 1000).astype(np.uint16))  # metres, not mm
    _expect(CalibrationError, scene, f, "depth scale", load=True)


def test_bad_fps(scene: Path) -> None:
    with pytest.raises(ConfigError, match="fps must be positive"):
        ScanNetReader(scene, fps=0)
