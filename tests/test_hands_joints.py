"""Joint sets: MediaPipe 21 ↔ OpenXR 26 ↔ visionOS 27 and a synthetic hand skeleton used by the
other hand tests."""

from __future__ import annotations

import numpy as np
import pytest

from spatial.hands import joints as J


def skeleton(flex_deg: dict[str, float] | None = None, thumb_tip=None, left: bool = False) -> np.ndarray:
    """(21, 3) metres: a right hand (mirrored in x for ``left``), palm in the x-y plane facing +z,
    fingers along +y, thumb towards +x, wrist at the origin, wrist→middle MCP 0.09 m; each
    finger's three joints flex by ``flex_deg[finger]`` degrees towards +z (the palm side)."""
    flex = {"thumb": 0.0, "index": 0.0, "middle": 0.0, "ring": 0.0, "pinky": 0.0, **(flex_deg or {})}
    j = np.zeros((21, 3))
    mcps = {"index": (-0.03, 0.085), "middle": (-0.005, 0.09), "ring": (0.017, 0.085), "pinky": (0.035, 0.075)}
    bones = {"index": (0.045, 0.025, 0.02), "middle": (0.05, 0.03, 0.022), "ring": (0.045, 0.028, 0.02), "pinky": (0.035, 0.02, 0.018)}
    for name, (mx, my) in mcps.items():
        idx = J.FINGERS[name]
        p = np.array([mx, my, 0.0])
        j[idx[0]] = p
        a = np.radians(flex[name])
        for k, length in enumerate(bones[name], start=1):
            p = p + length * np.array([0.0, np.cos(k * a), np.sin(k * a)])
            j[idx[k]] = p
    # built as a left hand (thumb towards -x), mirrored below into a right hand
    d = np.array([-0.7, 0.7, 0.0]) / np.linalg.norm([-0.7, 0.7])
    p = np.array([-0.02, 0.02, 0.0])
    j[1] = p
    a = np.radians(flex["thumb"])
    for k, length in enumerate((0.04, 0.035, 0.03), start=2):
        p = p + length * (np.cos((k - 1) * a) * d + np.sin((k - 1) * a) * np.array([0, 0, 1.0]))
        j[k] = p
    if not left:
        j[:, 0] *= -1
    if thumb_tip is not None:
        j[4] = thumb_tip
    return j


@pytest.fixture
def hand():
    R = np.array([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]])  # a proper rotation
    return skeleton({"index": 20, "middle": 30, "ring": 40, "pinky": 50}) @ R.T + [0.1, -0.2, 0.5]


def test_orders_and_sizes():
    assert len(J.MEDIAPIPE) == 21 and len(J.OPENXR) == 26 and len(J.VISIONOS) == 27
    assert J.OPENXR[:6] == ("palm", "wrist", "thumb_metacarpal", "thumb_proximal", "thumb_distal", "thumb_tip")
    assert J.OPENXR[25] == "little_tip" and J.VISIONOS[25:] == ("forearmWrist", "forearmArm")
    assert J.VISIONOS[5] == "indexFingerMetacarpal" and J.VISIONOS[24] == "littleFingerTip"
    assert len(J.BONES) == 20 and all(p < c for p, c in J.BONES)


def test_round_trips_are_exact(hand):
    xr = J.to_openxr(hand, "right")
    assert np.array_equal(J.from_openxr(xr["positions"]), hand)
    vos = J.to_visionos(hand, "right")
    assert np.array_equal(J.from_visionos(vos["transforms"]), hand)
    assert np.allclose(J.from_visionos(vos["transforms"][:, :3, 3]), hand)


def test_openxr_semantics(hand):
    xr = J.to_openxr(hand, "right")
    P = xr["positions"]
    # named joints land on the MediaPipe joints they correspond to
    assert np.array_equal(P[J.OPENXR.index("thumb_metacarpal")], hand[1])  # thumb CMC
    assert np.array_equal(P[J.OPENXR.index("index_proximal")], hand[5])  # index MCP
    assert np.array_equal(P[J.OPENXR.index("little_distal")], hand[19])  # pinky DIP
    # derived: metacarpal base a quarter of the way wrist → MCP; palm mid-metacarpal of the middle finger
    assert np.allclose(P[J.OPENXR.index("ring_metacarpal")], hand[0] + 0.25 * (hand[13] - hand[0]))
    mid_base = P[J.OPENXR.index("middle_metacarpal")]
    assert np.allclose(P[0], (mid_base + hand[9]) / 2)
    assert xr["derived"].sum() == 5 and xr["derived"][0]
    assert np.all(xr["radii"] > 0.005) and np.all(xr["radii"] < 0.03)


def test_openxr_orientations(hand):
    R = J.to_openxr(hand, "right")["rotations"]
    assert np.allclose(R @ np.transpose(R, (0, 2, 1)), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(R), 1.0)
    P = J.to_openxr(hand, "right")["positions"]
    # -Z points along each finger bone towards the tip
    for a, b in ((7, 8), (8, 9), (9, 10), (3, 4), (22, 23)):
        bone = (P[b] - P[a]) / np.linalg.norm(P[b] - P[a])
        assert np.allclose(-R[a][:, 2], bone, atol=1e-9)
    # +Y out of the back of the hand: the palm side is where the fingers curl (+z of the skeleton)
    rot = np.array([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]])
    palm_side = rot @ [0, 0, 1.0]
    assert R[1][:, 1] @ palm_side < -0.9  # wrist
    # X: towards the little finger on a right hand, towards the thumb on a left hand
    assert R[1][:, 0] @ (hand[17] - hand[5]) > 0


def test_left_hand_axes_are_mirrored():
    right, left = skeleton(), skeleton(left=True)
    Rr, Rl = J.hand_axes(right, "right"), J.hand_axes(left, "left")
    assert np.linalg.det(Rr) == pytest.approx(1) and np.linalg.det(Rl) == pytest.approx(1)
    assert Rr[:, 1] @ [0, 0, 1] < -0.99 and Rl[:, 1] @ [0, 0, 1] < -0.99  # both: +Y = back of the hand
    assert Rr[:, 0] @ (right[17] - right[5]) > 0 and Rl[:, 0] @ (left[5] - left[17]) > 0


def test_visionos_skeleton(hand):
    v = J.to_visionos(hand, "left")
    T = v["transforms"]
    assert T.shape == (27, 4, 4) and np.allclose(T[:, 3], [0, 0, 0, 1])
    assert np.allclose(v["anchor_from_joint"][0], np.eye(4))
    assert np.allclose(T[0] @ v["anchor_from_joint"], T)
    assert not v["tracked"][25:].any() and v["tracked"][:25].all()
    assert np.allclose(T[J.VISIONOS.index("thumbKnuckle"), :3, 3], hand[1])
    assert np.allclose(T[J.VISIONOS.index("middleFingerIntermediateTip"), :3, 3], hand[11])  # DIP
    # the forearm extends behind the wrist, away from the fingers
    back = T[26, :3, 3] - T[0, :3, 3]
    assert np.linalg.norm(back) == pytest.approx(J.FOREARM_LENGTH_M)
    assert back @ (hand[9] - hand[0]) < 0


def test_bone_lengths_and_bad_shapes(hand):
    lengths = J.bone_lengths(hand)
    assert lengths.shape == (20,) and np.all(lengths > 0.01) and np.all(lengths < 0.1)
    with pytest.raises(ValueError, match=r"expected \(21, 3\)"):
        J.to_openxr(hand[:20], "right")
    with pytest.raises(ValueError, match=r"expected \(26, 3\)"):
        J.from_openxr(hand)


def test_map_joint_names():
    names = ["wrist"] + [f"{f}{k}" for f in ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger") for k in range(1, 5)]
    mapping = {"wrist": "wrist"} | {f"thumb{k + 1}": f"thumb_{n}" for k, n in enumerate(("cmc", "mcp", "ip", "tip"))}
    for src, dst in (("forefinger", "index"), ("middle_finger", "middle"), ("ring_finger", "ring"), ("pinky_finger", "pinky")):
        mapping |= {f"{src}{k + 1}": f"{dst}_{n}" for k, n in enumerate(("mcp", "pip", "dip", "tip"))}
    assert J.map_joint_names(names, mapping).tolist() == list(range(21))
    shuffled = names[::-1]
    idx = J.map_joint_names(shuffled, mapping)
    assert [shuffled[i] for i in idx] == names
    with pytest.raises(ValueError, match="does not cover"):
        J.map_joint_names(names, {"wrist": "wrist"})
