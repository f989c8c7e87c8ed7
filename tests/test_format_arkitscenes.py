"""ARKitScenes reader.

shared/data has no ARKitScenes capture, so each test writes one in the raw layout from real
7-Scenes frames: colour and depth resized to ARKitScenes' 256x192, intrinsics scaled to match,
and real camera poses written into ``lowres_wide.traj`` the way ARKitScenes stores them
(angle-axis + translation of the world → camera transform).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from expect import raises_naming, read_all
from scipy.spatial.transform import Rotation

import sensors
from sensors.errors import CalibrationError, EmptySessionError, FormatError, SyncError
from sensors.formats.arkitscenes import ArkitScenesReader, seconds_to_ns
from sensors.formats.sevenscenes import PUBLISHED_INTRINSICS
from sensors.types import orthonormalize

VIDEO = "41069021"
# (7-Scenes frame, file-name time, traj time or None): the traj line of frame 0 is 0.12 ms off
# (ARKitScenes' round-to-ms rule), frame 9's is 3 ms off (its 5 ms search), frame 41's is 8 ms
# off (no pose), and the traj has a line at 6845.500 that matches no frame.
FRAMES = [(0, "6845.897", "6845.89712345"), (9, "6845.997", "6846.000"), (40, "6846.097", "6846.097"),
          (41, "6846.114", "6846.122")]
PINCAM_NAME = {9: "6845.996"}  # ARKitScenes also looks 1 ms either side
K_LOW = PUBLISHED_INTRINSICS.scaled(0.4)  # 256x192


def traj_line(t: str, T_world_camera: np.ndarray) -> str:
    R_cw = T_world_camera[:3, :3].T
    t_cw = -R_cw @ T_world_camera[:3, 3]
    return " ".join([t, *(f"{v:.10f}" for v in Rotation.from_matrix(R_cw).as_rotvec()), *(f"{v:.10f}" for v in t_cw)])


def arkitscenes_pose(line: str) -> np.ndarray:
    """What ARKitScenes' TrajStringToMatrix returns: inv([Rodrigues(a) | t])."""
    tok = line.split()
    ext = np.eye(4)
    ext[:3, :3] = cv2.Rodrigues(np.array([float(x) for x in tok[1:4]]))[0]
    ext[:3, 3] = [float(x) for x in tok[4:7]]
    return np.linalg.inv(ext)


def seven_pose(seven: Path, i: int) -> np.ndarray:
    return orthonormalize(np.loadtxt(seven / f"frame-{i:06d}.pose.txt"))


def make_video(root: Path, seven: Path, color_size=(256, 192), frames_dir: bool = False) -> Path:
    base = root / f"{root.name}_frames" if frames_dir else root
    for d in ("lowres_wide", "lowres_depth", "lowres_wide_intrinsics"):
        (base / d).mkdir(parents=True)
    K = PUBLISHED_INTRINSICS.scaled(color_size[0] / 640)
    lines = [traj_line("6845.500", seven_pose(seven, 100))]
    for i, t, tt in FRAMES:
        bgr = cv2.imread(str(seven / f"frame-{i:06d}.color.jpg"))
        cv2.imwrite(str(base / "lowres_wide" / f"{VIDEO}_{t}.png"), cv2.resize(bgr, color_size, interpolation=cv2.INTER_AREA))
        raw = cv2.imread(str(seven / f"frame-{i:06d}.depth.png"), cv2.IMREAD_UNCHANGED)
        raw = cv2.resize(np.where(raw == 65535, 0, raw).astype(np.uint16), (256, 192), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(base / "lowres_depth" / f"{VIDEO}_{t}.png"), raw)
        fx = K.fx + (0.5 if i == 9 else 0.0)  # per-frame intrinsics differ slightly
        (base / "lowres_wide_intrinsics" / f"{VIDEO}_{PINCAM_NAME.get(i, t)}.pincam").write_text(
            f"{K.width} {K.height} {fx} {fx} {K.cx} {K.cy}\n"
        )
        lines.append(traj_line(tt, seven_pose(seven, i)))
    (base / "lowres_wide.traj").write_text("\n".join(lines) + "\n")
    return root


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def reprojection_error_m(f_a, f_b, T_a: np.ndarray, T_b: np.ndarray) -> float:
    """Median |predicted − observed| depth of frame a's points seen in frame b."""
    K = f_a.depth_intrinsics or f_a.intrinsics
    v, u = np.nonzero(f_a.depth_m)
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
def video(tmp_path: Path, seven: Path) -> Path:
    return make_video(tmp_path / VIDEO, seven)


def _files(video: Path, folder: str, t: str, ext: str = "png") -> Path:
    return video / folder / f"{VIDEO}_{t}.{ext}"


def test_seconds_to_ns_is_exact() -> None:
    assert seconds_to_ns("6845.897") == 6_845_897_000_000
    assert seconds_to_ns("0.1") == 100_000_000  # float(0.1) * 1e9 would not be exact in general
    assert seconds_to_ns("6845.89712345") == 6_845_897_123_450


def test_reads_video_with_arkitscenes_pose_convention(video: Path, seven: Path) -> None:
    before = tree_state(video)
    assert ArkitScenesReader.detect(video) and not ArkitScenesReader.detect(seven)
    with sensors.open(video, format="arkitscenes") as s:
        assert s.format == "arkitscenes"
        frames = list(s.frames())
        cal = s.calibration
        gt = s.ground_truth.poses
        assert s.summary().sync.rgbd_pairs == 4
    ts = [seconds_to_ns(t) for _, t, _ in FRAMES]
    assert [f.timestamp_ns for f in frames] == ts and ts[0] == 6_845_897_000_000
    assert cal.depth_registered and cal.depth_scale == 1000.0
    assert cal.color.size == (256, 192)
    np.testing.assert_allclose(cal.color.K, K_LOW.K, atol=1e-9)
    for f, (i, t, _) in zip(frames, FRAMES, strict=True):
        assert f.color.shape == (192, 256, 3) and f.depth_m.shape == (192, 256) and f.depth_intrinsics is None
        assert f.intrinsics.fx == pytest.approx(K_LOW.fx + (0.5 if i == 9 else 0.0))  # each frame's own pincam
        raw = cv2.imread(str(_files(video, "lowres_depth", t)), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(f.depth_m, (raw / np.float32(1000)).astype(np.float32))
        assert f.color_encoded == _files(video, "lowres_wide", t).read_bytes()
    # one pose per frame with a traj line within 5 ms, at the frame's time; frame 41 has none
    np.testing.assert_array_equal(gt.timestamps_ns, ts[:3])
    lines = (video / "lowres_wide.traj").read_text().splitlines()[1:4]
    for T, (i, _, _), line in zip(gt.T_world_body, FRAMES[:3], lines, strict=True):
        np.testing.assert_allclose(T, arkitscenes_pose(line), atol=1e-9)  # as ARKitScenes' own loader reads it
        np.testing.assert_allclose(T, seven_pose(seven, i), atol=1e-8)  # and the real camera-to-world pose
    # real geometry: frame 0's depth lands on frame 40's depth through the poses (OpenCV axes)
    assert reprojection_error_m(frames[0], frames[2], gt.T_world_body[0], gt.T_world_body[2]) < 0.03
    assert tree_state(video) == before


def test_wrong_convention_would_be_caught(video: Path) -> None:
    r = ArkitScenesReader(video)
    recs = list(r.records())
    f0, f40 = recs[0].load(), recs[2].load()
    T = r.ground_truth.poses.T_world_body
    assert reprojection_error_m(f0, f40, T[0], T[2]) < 0.03
    assert reprojection_error_m(f0, f40, np.linalg.inv(T[0]), np.linalg.inv(T[2])) > 0.1  # traj used as-is


def test_3dod_layout_and_larger_colour_image(tmp_path: Path, seven: Path) -> None:
    video = make_video(tmp_path / VIDEO, seven, color_size=(512, 384), frames_dir=True)
    assert ArkitScenesReader.detect(video)
    r = ArkitScenesReader(video)
    K = PUBLISHED_INTRINSICS.scaled(0.8)
    assert not r.calibration.depth_registered
    assert r.calibration.depth == K.scaled(0.5)
    np.testing.assert_array_equal(r.calibration.T_color_depth, np.eye(4))
    frames = [rec.load() for rec in r.records()]
    assert frames[0].color.shape == (384, 512, 3) and frames[0].depth_intrinsics == K.scaled(0.5)
    T = r.ground_truth.poses.T_world_body
    assert reprojection_error_m(frames[0], frames[2], T[0], T[2]) < 0.03


def test_unpaired_images_are_reported_not_replayed(video: Path) -> None:
    _files(video, "lowres_depth", "6845.997").unlink()
    with sensors.open(video, format="arkitscenes") as s:
        assert s.num_frames == 3 and len(s.timestamps()["color"]) == 4 and len(s.timestamps()["depth"]) == 3
        assert [f.index for f in s.frames()] == [0, 1, 2]
        rep = s.summary().sync
        assert (rep.rgbd_pairs, rep.rgbd_unmatched_color, rep.rgbd_unmatched_depth) == (3, 1, 0)


def test_without_traj_there_is_no_ground_truth(video: Path) -> None:
    (video / "lowres_wide.traj").unlink()
    assert ArkitScenesReader(video).ground_truth is None


def _expect(exc_type, video: Path, where: Path, *words: str, load: bool = False):
    raises_naming(exc_type, lambda: read_all(ArkitScenesReader(video)) if load else ArkitScenesReader(video), where, *words)


def test_missing_video_folder(tmp_path: Path) -> None:
    _expect(FormatError, tmp_path / "nope", tmp_path / "nope", "video folder")


def test_missing_depth_folder(video: Path) -> None:
    shutil.rmtree(video / "lowres_depth")
    _expect(FormatError, video, video / "lowres_depth", "folder is missing")


def test_missing_intrinsics_folder(video: Path) -> None:
    shutil.rmtree(video / "lowres_wide_intrinsics")
    _expect(CalibrationError, video, video / "lowres_wide_intrinsics", "intrinsics folder is missing")


def test_missing_pincam_for_a_frame(video: Path) -> None:
    (video / "lowres_wide_intrinsics" / f"{VIDEO}_6846.097.pincam").unlink()
    _expect(CalibrationError, video, video / "lowres_wide_intrinsics" / f"{VIDEO}_6846.097.pincam", "missing")


def test_malformed_pincam(video: Path) -> None:
    f = video / "lowres_wide_intrinsics" / f"{VIDEO}_6845.897.pincam"
    f.write_text("256 192 234 234 127.7\n")
    _expect(CalibrationError, video, f, "expected 6 numbers")


def test_non_numeric_timestamp_in_file_name(video: Path) -> None:
    f = _files(video, "lowres_wide", "abc")
    shutil.copyfile(_files(video, "lowres_wide", "6845.897"), f)
    _expect(FormatError, video, f, "not <video_id>_<seconds>.png", "'abc' is not a number")


def test_no_paired_frames(video: Path) -> None:
    for p in (video / "lowres_depth").iterdir():
        p.unlink()
    _expect(EmptySessionError, video, video, "no timestamp has both")


def test_truncated_depth_image(video: Path) -> None:
    f = _files(video, "lowres_depth", "6846.097")
    f.write_bytes(f.read_bytes()[:-20])
    _expect(FormatError, video, f, "truncated", load=True)


def test_depth_in_wrong_units(video: Path) -> None:
    f = _files(video, "lowres_depth", "6845.997")
    raw = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(f), (raw // 1000).astype(np.uint16))  # metres, not millimetres
    _expect(CalibrationError, video, f, "depth scale", load=True)


def test_colour_size_disagrees_with_pincam(video: Path) -> None:
    f = _files(video, "lowres_wide", "6846.114")
    cv2.imwrite(str(f), np.zeros((100, 120, 3), np.uint8))
    _expect(FormatError, video, f, "120x100", "256x192", load=True)


def test_depth_with_other_aspect_ratio(video: Path) -> None:
    for p in (video / "lowres_depth").iterdir():
        cv2.imwrite(str(p), np.full((200, 200), 1500, np.uint16))
    _expect(CalibrationError, video, _files(video, "lowres_depth", "6845.897"), "different aspect ratios")


def test_malformed_traj_line(video: Path) -> None:
    f = video / "lowres_wide.traj"
    lines = f.read_text().splitlines()
    lines[1] = " ".join(lines[1].split()[:6])
    f.write_text("\n".join(lines))
    _expect(FormatError, video, f, "line 2", "expected 7 columns")


def test_traj_out_of_order(video: Path) -> None:
    f = video / "lowres_wide.traj"
    lines = f.read_text().splitlines()
    f.write_text("\n".join([lines[2], lines[1], *lines[3:]]))
    _expect(SyncError, video, f, "non-monotonic trajectory timestamps")
