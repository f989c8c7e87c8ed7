"""Metric lifting on synthetic depth rendered from known 3D joints; fallbacks and bad depth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_hands_joints import skeleton

from sensors.errors import CalibrationError
from sensors.types import CameraIntrinsics
from spatial.hands import Hand, HandsResult, lift, lift_hand
from spatial.hands.lift import register_depth
from spatial.hands.synthetic import random_hand_pose, render_hand_depth

K = CameraIntrinsics(600.0, 600.0, 319.5, 239.5, 640, 480)


def _model_hands() -> list[np.ndarray]:
    """Relative 3D hands (metres, centred) standing in for the landmark model's output."""
    poses = [{}, {"index": 30, "middle": 40, "ring": 50, "pinky": 60}, {"middle": 80, "ring": 80, "pinky": 80}]
    return [skeleton(p) - skeleton(p).mean(0) for p in poses]


def _trial(model: np.ndarray, seed: int, occluded: bool = False):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.85, 1.15)
    G, px = random_hand_pose(model, rng, K, s)
    occ = (px[8, 0] - 8, px[8, 0] + 8, 0, K.height) if occluded else None
    depth = render_hand_depth(G, K, s, occluder=occ, seed=seed)
    hand = Hand("right", 0.9, px + rng.normal(0, 1.5, px.shape), model)
    return hand, G, s, depth


def test_lifting_with_depth_is_metric():
    errors, scale_err = [], []
    for k in range(9):
        hand, G, s, depth = _trial(_model_hands()[k % 3], k)
        out = lift_hand(hand, K, depth)
        assert out.lift == "depth" and "monocular" not in out.flags
        errors.append(np.linalg.norm(out.joints_camera_m - G, axis=1).mean())
        scale_err.append(abs(out.scale - s) / s)
    assert np.mean(errors) < 0.015  # the acceptance target: MPJPE < 15 mm
    assert np.mean(scale_err) < 0.08


def test_occluded_joints_are_flagged_and_bounded():
    flagged, errors = 0, []
    for k in range(6):
        hand, G, _, depth = _trial(_model_hands()[k % 3], 100 + k, occluded=True)
        out = lift_hand(hand, K, depth)
        flagged += any(f.startswith("occluded:") for f in out.flags)
        errors.append(np.linalg.norm(out.joints_camera_m - G, axis=1).mean())
        # joints stay on their pixel rays whatever the depth says
        reproj = out.joints_camera_m[:, :2] / out.joints_camera_m[:, 2:] * 600 + [319.5, 239.5]
        assert np.allclose(reproj, hand.landmarks_px, atol=1e-6)
    assert flagged >= 4 and np.mean(errors) < 0.02


def test_monocular_fallback_is_flagged():
    hand, G, s, _ = _trial(_model_hands()[0], 7)
    out = lift_hand(hand, K, None)
    assert out.lift == "monocular" and out.scale == 1.0 and set(out.flags) == {"monocular", "no_depth"}
    # an average-size hand: depth off by the true scale factor, shape right
    assert np.median(G[:, 2] / out.joints_camera_m[:, 2]) == pytest.approx(s, rel=0.08)
    r = lift(HandsResult(0, (640, 480), (hand,)), None)
    assert r.flags == ("intrinsics_assumed", "no_depth") and r[0].lift == "monocular"


def test_depth_in_millimetres_is_an_error():
    hand, _, _, depth = _trial(_model_hands()[0], 3)
    with pytest.raises(CalibrationError, match=r"depth around the hand is \d+: depth must be metres \(millimetres\?\)"):
        lift_hand(hand, K, depth * 1000)


def test_missing_or_inconsistent_depth_falls_back():
    hand, _, _, depth = _trial(_model_hands()[1], 4)
    empty = lift_hand(hand, K, np.zeros_like(depth))
    assert empty.lift == "monocular" and "depth_insufficient" in empty.flags
    wall = lift_hand(hand, K, np.full_like(depth, 4.0))  # depth of something else, far behind
    assert wall.lift == "monocular" and "depth_scale_implausible" in wall.flags
    with pytest.raises(CalibrationError, match="depth image is 320x240 but the colour image is 640x480: register depth"):
        lift(HandsResult(0, (640, 480), (hand,)), K, depth[::2, ::2])


def test_register_depth():
    depth = np.zeros((480, 640), np.float32)
    depth[200:280, 300:340] = 0.8
    depth[100:110, 100:110] = 2.0
    same = register_depth(depth, K, K, np.eye(4))
    assert np.array_equal(same, depth)
    T = np.eye(4)
    T[0, 3] = 0.08  # depth camera 8 cm left of colour: a point at 0.8 m moves 60 px right
    moved = register_depth(depth, K, K, T)
    assert moved[240, 320 + 60] == pytest.approx(0.8) and moved[240, 305] == 0.0
    assert moved[105, 105 + 24] == pytest.approx(2.0)  # 24 px at 2 m
    half = K.scaled(0.5)
    small = cv2.resize(depth, (320, 240), interpolation=cv2.INTER_NEAREST)
    up = register_depth(small, half, K, np.eye(4))
    assert up.shape == (480, 640) and up[240, 320] == pytest.approx(0.8)
