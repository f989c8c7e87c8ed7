"""``spatial hands`` on an image folder, a video and an RGB-D session with poses; the webcam
sample without a camera."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import spatial.commands.hands  # noqa: F401  (registers the command)
from sensors.room import RoomDescription, RoomElement
from sensors.types import Calibration, CameraIntrinsics, RGBDFrame, Trajectory
from spatial.cli import app
from spatial.hands import HandLandmarker, HandLandmarkerOptions, lift_hand, read_jsonl, track
from spatial.hands.output import HAND_KEYS, LINE_KEYS
from spatial.hands.synthetic import render_hand_depth

runner = CliRunner()
pytestmark = pytest.mark.shared_data
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "webcam_hands.py"
K = CameraIntrinsics(600.0, 600.0, 319.5, 239.5, 640, 480)


def invoke(*args):
    return runner.invoke(app, ["hands", *map(str, args)])


@pytest.fixture(scope="module")
def canvas(shared_data) -> np.ndarray:
    """A real hand photo (OneHand10K 1402) in a 640x480 RGB frame."""
    img = cv2.imread(str(shared_data / "hands" / "onehand10k" / "1402.jpg"))[:, :, ::-1]
    out = np.full((480, 640, 3), 255, np.uint8)
    small = cv2.resize(img, None, fx=1.2, fy=1.2)
    out[40 : 40 + small.shape[0], 200 : 200 + small.shape[1]] = small
    return out


def test_image_folder(shared_data, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    for name in ("9.jpg", "1402.jpg"):
        (folder / name).symlink_to(shared_data / "hands" / "onehand10k" / name)
    res = invoke(folder, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "(2 frames, 2 with hands, 2 hands)" in res.output
    lines = list(read_jsonl(tmp_path / "out" / "hands.jsonl"))  # checks every line's keys
    assert len(lines) == 2 and [ln["timestamp_ns"] for ln in lines] == [0, 33_333_333]
    for line in lines:
        assert tuple(line) == LINE_KEYS and "intrinsics_assumed" in line["flags"] and "no_pose" in line["flags"]
        (hand,) = line["hands"]
        assert tuple(hand) == HAND_KEYS and hand["lift"] == "monocular" and hand["joints_world_m"] is None
        assert np.array(hand["landmarks_px"]).shape == (21, 2) and np.array(hand["joints_camera_m"]).shape == (21, 3)
        assert 0.1 < np.array(hand["joints_camera_m"])[:, 2].mean() < 2.0  # metres (60° field of view assumed)
        assert set(hand["gestures"]) >= {"pinch", "point", "fist", "open_palm", "grab", "pinch_strength", "ray"}
    # sorted by name: 1402.jpg (an "OK" sign: pinching) then 9.jpg (an open hand); stills share no state
    assert lines[0]["hands"][0]["gestures"]["pinch"] is True and lines[1]["hands"][0]["gestures"]["pinch"] is False
    assert lines[1]["hands"][0]["gestures"]["open_palm"] is True
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["input_kind"] == "images" and config["landmarker"]["running_mode"] == "image"


def test_video_with_rerun(canvas, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for k in range(4):
        writer.write(np.ascontiguousarray(np.roll(canvas, 4 * k, axis=1)[:, :, ::-1]))
    writer.release()
    res = invoke(video, "--out", tmp_path / "out", "--rrd")
    assert res.exit_code == 0, res.output
    lines = list(read_jsonl(tmp_path / "out" / "hands.jsonl"))
    assert [len(ln["hands"]) for ln in lines] == [1, 1, 1, 1]
    assert len({ln["hands"][0]["track_id"] for ln in lines}) == 1  # one identity through the clip
    assert (tmp_path / "out" / "recording.rrd").stat().st_size > 10_000


def _tum_session(folder: Path, canvas: np.ndarray) -> np.ndarray:
    """A 3-frame TUM RGB-D folder: the hand photo, depth rendered for the hand at a known scale,
    ground-truth camera poses translated by (1, 2, 3) m."""
    with HandLandmarker(HandLandmarkerOptions()) as lm:
        hand = lift_hand(lm.detect(canvas)[0], K, None)
    joints = hand.joints_camera_m * 1.1  # a 10 % larger hand than average, further away
    depth = render_hand_depth(joints, K, 1.1, background_m=1.6)
    (folder / "rgb").mkdir(parents=True)
    (folder / "depth").mkdir()
    rgb_lines, depth_lines, gt_lines = [], [], []
    for k in range(3):
        t = f"{100 + k / 30:.6f}"
        cv2.imwrite(str(folder / "rgb" / f"{k}.png"), canvas[:, :, ::-1])
        cv2.imwrite(str(folder / "depth" / f"{k}.png"), np.round(depth * 5000).astype(np.uint16))
        rgb_lines.append(f"{t} rgb/{k}.png")
        depth_lines.append(f"{t} depth/{k}.png")
        gt_lines.append(f"{t} 1 2 3 0 0 0 1")
    (folder / "rgb.txt").write_text("\n".join(rgb_lines) + "\n")
    (folder / "depth.txt").write_text("\n".join(depth_lines) + "\n")
    (folder / "groundtruth.txt").write_text("\n".join(gt_lines) + "\n")
    (folder / "calibration.json").write_text(json.dumps(Calibration(color=K, depth_scale=5000.0).to_dict()))
    return joints


def test_rgbd_session_with_poses(canvas, tmp_path):
    truth = _tum_session(tmp_path / "seq", canvas)
    res = invoke(tmp_path / "seq", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    lines = list(read_jsonl(tmp_path / "out" / "hands.jsonl"))
    assert len(lines) == 3 and lines[0]["flags"] == []
    for line in lines:
        (hand,) = line["hands"]
        cam, world = np.array(hand["joints_camera_m"]), np.array(hand["joints_world_m"])
        assert hand["lift"] == "depth" and hand["scale"] == pytest.approx(1.1, abs=0.1)
        assert np.allclose(world, cam + np.array([1, 2, 3]), atol=1e-4)  # identity rotation, translation (1, 2, 3)
        assert np.linalg.norm(cam - truth, axis=1).mean() < 0.02
    assert json.loads((tmp_path / "out" / "config.json").read_text())["input_kind"] == "session"


def test_track_api_with_a_scene(canvas):
    """``spatial.hands.track(frames, scene=...)``: poses from ``scene.trajectory``, pointing rays
    into ``scene.mesh`` and proximity to ``scene.room`` objects."""
    with HandLandmarker(HandLandmarkerOptions()) as lm:
        hand = lift_hand(lm.detect(canvas)[0], K, None)
    depth = render_hand_depth(hand.joints_camera_m, K, 1.0)
    ts = np.arange(4) * 33_333_333
    T = np.tile(np.eye(4), (4, 1, 1))
    T[:, :3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # camera looking along world +y, z up
    T[:, :3, 3] = np.stack([ts / 1e9, np.zeros(4), np.full(4, 1.5)], axis=1)  # moving 1 m/s along x
    box = trimesh_box(10.0)  # the hand is inside a 10 m box: every ray hits it
    table_pose = np.eye(4)
    table_pose[:3, 3] = [0.0, 0.6, 1.0]
    room = RoomDescription([RoomElement("t1", "table", (1.0, 0.6, 0.05), table_pose)])
    scene = SimpleNamespace(trajectory=Trajectory(ts, T), mesh=SimpleNamespace(vertices=box[0], triangles=box[1]), room=room)
    frames = [RGBDFrame(int(t), canvas, depth, K, index=k) for k, t in enumerate(ts)]
    results = list(track(frames, scene=scene))
    assert [len(r) for r in results] == [1, 1, 1, 1] and all(r.flags == () for r in results)
    for r, pose in zip(results, T):
        h = r[0]
        assert h.track_id == results[0][0].track_id and h.lift == "depth"
        assert np.allclose(h.joints_world_m, h.joints_camera_m @ pose[:3, :3].T + pose[:3, 3], atol=1e-9)
        hit = h.gestures["ray"]["hit"]
        assert hit["target"] == "mesh" and 0 < hit["distance_m"] < 10
        near = h.gestures["nearest_object"]
        assert near["identifier"] == "t1" and near["distance_m"] > 0


def trimesh_box(side: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and outward triangles of an axis-aligned cube centred at the origin."""
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * side / 2
    faces = []
    for axis in range(3):
        for sign in (-1, 1):
            quad = [i for i in range(8) if np.sign(v[i, axis]) == sign]
            a, b, c, d = sorted(quad, key=lambda i: np.arctan2(*np.delete(v[i], axis)[::-1]))
            faces += [[a, b, c], [a, c, d]]
    return v, np.array(faces)


def test_bad_inputs(tmp_path):
    res = invoke(tmp_path / "nothing", "--out", tmp_path / "out")
    assert res.exit_code == 2 and "error:" in res.output and "input does not exist" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = invoke(empty, "--out", tmp_path / "out")
    assert res.exit_code == 2 and f"{empty}: folder holds no images" in res.output
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"not a jpeg")
    res = invoke(bad, "--out", tmp_path / "out2")
    assert res.exit_code == 2 and "a.jpg" in res.output and "corrupt" in res.output
    assert not (tmp_path / "out2" / "hands.jsonl").exists()  # nothing half-written


def test_webcam_sample_without_camera():
    proc = subprocess.run(
        [sys.executable, str(SAMPLE), "--camera", "97", "--no-window"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "error: no camera at index 97" in proc.stderr
