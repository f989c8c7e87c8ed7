"""One Euro filter, gestures with hysteresis, pointing rays, object proximity, identity tracking
and the map frame, on synthetic hands."""

from __future__ import annotations

import numpy as np
import pytest
from test_hands_joints import skeleton

from sensors.errors import ConfigError
from sensors.room import RoomDescription, RoomElement
from spatial.hands import HandTracker, OneEuroFilter, SceneTargets
from spatial.hands.gestures import OFF, ON, GestureState, pointing_ray, scores
from spatial.hands.result import Hand, HandsResult

# -- One Euro filter ------------------------------------------------------------------------------


def test_one_euro_smooths_jitter_at_rest_and_follows_motion():
    rng = np.random.default_rng(0)
    ts = np.arange(200) * 33_333_333
    noisy = 0.5 + rng.normal(0, 0.003, 200)
    f = OneEuroFilter()
    out = np.array([f(np.array([x]), t)[0] for x, t in zip(noisy, ts)])
    assert out[0] == noisy[0]  # first sample passes unchanged
    assert np.std(out[50:]) < np.std(noisy[50:]) / 2.5

    ramp = 0.5 * ts / 1e9  # 0.5 m/s
    lag = {}
    for beta in (0.0, 10.0):
        f = OneEuroFilter(beta=beta)
        out = np.array([f(np.array([x]), t)[0] for x, t in zip(ramp, ts)])
        lag[beta] = float(np.mean(ramp[100:] - out[100:]))
    assert lag[10.0] < lag[0.0] / 3  # the speed term cuts the lag of a moving hand
    assert lag[10.0] < 0.02


def test_one_euro_restarts_and_validates():
    f = OneEuroFilter()
    f(np.zeros(3), 100)
    assert np.array_equal(f(np.ones(3), 100), np.ones(3))  # same timestamp: restart, no division by zero
    assert f(np.ones((21, 3)), 200).shape == (21, 3)  # new shape: restart
    with pytest.raises(ConfigError, match="cutoffs must be positive"):
        OneEuroFilter(min_cutoff_hz=0)


# -- gestures ---------------------------------------------------------------------------------------


def test_gesture_scores_of_poses():
    curled = {"index": 80, "middle": 80, "ring": 80, "pinky": 80}
    cases = {
        "open_palm": skeleton(),
        "fist": skeleton(curled),
        "point": skeleton({**curled, "index": 0}),
    }
    for name, joints in cases.items():
        s = scores(joints)
        for g in ("open_palm", "fist", "point"):
            assert (s[g] >= ON[g]) == (g == name), (name, g, s)
        assert s["pinch"] < OFF["pinch"]


def _pinch_hand(gap_m: float) -> np.ndarray:
    j = skeleton()
    return skeleton(thumb_tip=j[8] + [gap_m, 0, 0])


def test_pinch_strength_and_hysteresis():
    state = GestureState()
    seq = [0.06, 0.02, 0.03, 0.045, 0.03, 0.01]
    strengths, active = [], []
    for gap in seq:
        s = scores(_pinch_hand(gap))
        strengths.append(s["pinch_strength"])
        active.append(state.update(s)["pinch"])
    assert strengths[0] < strengths[2] < strengths[1] < strengths[5] <= 1.0
    assert strengths[1] == pytest.approx((0.07 - 0.02) / 0.055, abs=0.02)  # palm is 9 cm: metres as given
    # on at 2 cm; 3 cm is between the thresholds so it stays on; off at 4.5 cm; 3 cm does not re-trigger
    assert active == [False, True, True, False, False, True]


def test_pinch_scale_invariant():
    small = _pinch_hand(0.02) * 0.8
    assert scores(small)["pinch_strength"] == pytest.approx(scores(_pinch_hand(0.02))["pinch_strength"])


# -- pointing rays and proximity ------------------------------------------------------------------


def _room() -> RoomDescription:
    T = np.eye(4)
    T[:3, 3] = [0.0, 1.0, 0.4]
    table = RoomElement("table-1", "table", (1.0, 0.6, 0.8), T)
    return RoomDescription([table])


def test_pointing_ray_hits_mesh_and_objects():
    joints = skeleton({"middle": 80, "ring": 80, "pinky": 80})  # points along +y from the origin
    origin, direction = pointing_ray(joints)
    assert np.allclose(direction, [0, 1, 0], atol=1e-9)
    wall = SceneTargets(
        vertices=np.array([[-5, 3, -5], [5, 3, -5], [5, 3, 5], [-5, 3, 5]], float),
        triangles=np.array([[0, 1, 2], [0, 2, 3]]),
    )
    hit = wall.cast(origin, direction)
    assert hit["target"] == "mesh" and hit["distance_m"] == pytest.approx(3 - origin[1], abs=1e-5)
    assert np.allclose(hit["point"], [origin[0], 3.0, origin[2]], atol=1e-5)
    both = SceneTargets(vertices=wall.vertices, triangles=wall.triangles, room=_room())
    hit = both.cast(origin, direction)  # the table (front face at y = 0.7) is nearer than the wall
    assert hit["target"] == "table-1" and hit["category"] == "table"
    assert hit["distance_m"] == pytest.approx(0.7 - origin[1], abs=1e-9)
    assert both.cast(origin, -direction) is None  # nothing behind the hand


def test_object_proximity_with_contact_hysteresis():
    targets = SceneTargets(room=_room())  # table top at z = 0.8, spanning y 0.7..1.3
    hand = skeleton() @ np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]).T  # fingers pointing down (-z)
    at = [0.0, 1.0, 0.8]
    near = targets.nearest_object(hand + (at - hand[12]) + [0, 0, 0.01])  # middle tip 1 cm above the top
    assert near["identifier"] == "table-1" and near["joint"] == "middle_tip"
    assert near["distance_m"] == pytest.approx(0.01, abs=1e-9) and near["contact"] and near["near"]
    lifted = hand + (at - hand[12]) + [0, 0, 0.025]
    assert not targets.nearest_object(lifted)["contact"]
    assert targets.nearest_object(lifted, was_contact=True)["contact"]  # still in contact until 3 cm
    far = targets.nearest_object(hand + np.array([0, 0, 2.0]))
    assert not far["near"] and far["distance_m"] > 0.5
    assert SceneTargets().nearest_object(hand) is None


# -- tracker: identities, map frame, filter, gestures ------------------------------------------------


def _hand(joints: np.ndarray, handedness: str = "right", score: float = 0.9) -> Hand:
    px = joints[:, :2] / joints[:, 2:] * 600 + [320, 240]
    return Hand(handedness, score, px, joints - joints.mean(0), joints_camera_m=joints, lift="depth", scale=1.0)


@pytest.fixture(scope="module")
def tracker_factory():
    made = []

    def make(**kw):
        t = HandTracker(**kw)
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


def test_identities_follow_hands_and_expire(tracker_factory):
    tracker = tracker_factory()
    right = skeleton() + np.array([0.15, 0, 0.5])
    left = skeleton(left=True) + np.array([-0.15, 0, 0.5])
    ids = []
    for k in range(5):
        step = [0.01 * k, 0, 0]
        hands = [_hand(right + step), _hand(left - step, "left")]
        if k % 2:
            hands.reverse()  # detection order must not matter
        res = tracker.update(HandsResult(k * 33_333_333, (640, 480), tuple(hands)))
        ids.append({h.handedness: h.track_id for h in res})
        assert res.flags == ("no_pose",)
    assert all(i == ids[0] for i in ids) and len(set(ids[0].values())) == 2
    # a single mislabelled detection does not flip a track's handedness
    res = tracker.update(HandsResult(5 * 33_333_333, (640, 480), (_hand(right + np.array([0.05, 0, 0]), "left", 0.6),)))
    assert res[0].track_id == ids[0]["right"] and res[0].handedness == "right"
    # after max_age the track is gone: a hand there starts a new id
    res = tracker.update(HandsResult(2_000_000_000, (640, 480), (_hand(right),)))
    assert res[0].track_id not in ids[0].values()


def test_map_frame_filter_and_gestures(tracker_factory):
    tracker = tracker_factory(targets=SceneTargets(room=_room()))
    T = np.eye(4)
    T[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # camera looking along world +y
    T[:3, 3] = [0.0, -0.5, 1.2]
    rng = np.random.default_rng(1)
    hand = skeleton({"middle": 80, "ring": 80, "pinky": 80}) + np.array([0.0, 0.0, 0.5])
    world_true = hand @ T[:3, :3].T + T[:3, 3]
    errs_raw, errs_filtered = [], []
    for k in range(40):
        noisy = hand + rng.normal(0, 0.003, hand.shape)
        res = tracker.update(HandsResult(k * 33_333_333, (640, 480), (_hand(noisy),)), T)
        h = res[0]
        assert np.allclose(h.joints_world_m, h.joints_camera_m @ T[:3, :3].T + T[:3, 3])
        if k >= 20:
            errs_raw.append(np.abs(noisy @ T[:3, :3].T + T[:3, 3] - world_true).mean())
            errs_filtered.append(np.abs(h.joints_world_m - world_true).mean())
    assert np.mean(errs_filtered) < np.mean(errs_raw) / 2
    g = h.gestures
    assert g["point"] and not g["fist"] and not g["pinch"] and g["grab"] == g["fist"]
    assert g["ray"]["frame"] == "world" and np.allclose(np.linalg.norm(g["ray"]["direction"]), 1)
    assert g["nearest_object"]["identifier"] == "table-1"
    assert "hit" in g["ray"]
    line = res.to_json()
    assert line["hands"][0]["gestures"]["point"] is True and isinstance(line["hands"][0]["gestures"]["ray"]["origin"], list)
