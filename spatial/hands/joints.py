"""Hand joint sets and converters: MediaPipe 21 ↔ OpenXR ``XR_EXT_hand_tracking`` 26 ↔ visionOS
``HandSkeleton`` 27.

**MediaPipe 21** (the native set here): wrist, then per finger four points from the base out —
thumb CMC, MCP, IP, tip; index/middle/ring/pinky MCP, PIP, DIP, tip.

**OpenXR 26** (``XrHandJointEXT`` order): palm, wrist, thumb metacarpal/proximal/distal/tip, then
index, middle, ring and little metacarpal/proximal/intermediate/distal/tip. A finger joint sits at
the *base* of the bone it is named after, so ``THUMB_METACARPAL`` = thumb CMC, ``THUMB_PROXIMAL`` =
thumb MCP, ``THUMB_DISTAL`` = thumb IP, ``INDEX_PROXIMAL`` = index MCP, ``INDEX_INTERMEDIATE`` =
PIP, ``INDEX_DISTAL`` = DIP. Every joint has a pose: OpenXR's convention is −Z along the bone
towards the finger tip, +Y out of the back of the hand (and of the finger nail), +X = Y × Z.

**visionOS 27** (``HandSkeleton.JointName`` order): wrist; thumbKnuckle, thumbIntermediateBase,
thumbIntermediateTip, thumbTip (= thumb CMC, MCP, IP, tip); for index/middle/ring/little
finger: Metacarpal, Knuckle (MCP), IntermediateBase (PIP), IntermediateTip (DIP), Tip; then
forearmWrist and forearmArm. Joints are 4x4 transforms. Apple does not publish the joints'
local axes; we use the same axes as OpenXR (a consumer needing Apple's exact axes applies one
fixed rotation per joint).

**Derived joints** (not observed by MediaPipe; ``derived`` masks mark them):

* finger metacarpal bases (OpenXR ``*_METACARPAL``, visionOS ``*FingerMetacarpal``):
  ``wrist + METACARPAL_BASE * (MCP - wrist)``, the carpometacarpal joints lying about a quarter of
  the way from the wrist crease to the knuckles;
* palm (OpenXR): the middle of the middle finger's metacarpal bone, i.e. the midpoint of the middle
  metacarpal base and the middle MCP;
* forearm (visionOS ``forearmWrist`` at the wrist, ``forearmArm`` ``FOREARM_LENGTH_M`` further
  back along the hand's long axis, assuming a straight wrist): reported as *not tracked*.

Converting back to MediaPipe drops the derived joints, so 21 → 26 → 21 and 21 → 27 → 21 are exact.
"""

from __future__ import annotations

import numpy as np

MEDIAPIPE = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
#: parent of each MediaPipe joint (-1 for the wrist); bones are (parent, child) pairs.
PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
BONES = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)
FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
TIPS = (4, 8, 12, 16, 20)
WRIST, THUMB_TIP, INDEX_MCP, INDEX_PIP, INDEX_TIP, MIDDLE_MCP, PINKY_MCP = 0, 4, 5, 6, 8, 9, 17

OPENXR = (
    "palm", "wrist", "thumb_metacarpal", "thumb_proximal", "thumb_distal", "thumb_tip",
    *(f"{f}_{j}" for f in ("index", "middle", "ring", "little") for j in ("metacarpal", "proximal", "intermediate", "distal", "tip")),
)
VISIONOS = (
    "wrist", "thumbKnuckle", "thumbIntermediateBase", "thumbIntermediateTip", "thumbTip",
    *(f"{f}Finger{j}" for f in ("index", "middle", "ring", "little") for j in ("Metacarpal", "Knuckle", "IntermediateBase", "IntermediateTip", "Tip")),
    "forearmWrist", "forearmArm",
)

METACARPAL_BASE = 0.25  # fraction of wrist → MCP where the finger CMC joints are placed
FOREARM_LENGTH_M = 0.10  # visionOS forearmArm distance behind the wrist (not observed)

# MediaPipe index of each OpenXR / visionOS joint (-1: derived)
_FINGERS_FROM_MP = tuple(i for f in (5, 9, 13, 17) for i in (-1, f, f + 1, f + 2, f + 3))
_XR_FROM_MP = (-1, 0, 1, 2, 3, 4, *_FINGERS_FROM_MP)
_VOS_FROM_MP = (0, 1, 2, 3, 4, *_FINGERS_FROM_MP, -1, -1)
# finger joint radii (m) of an average adult hand, per MediaPipe joint (used for OpenXR radii and
# for the skin-to-joint-centre offset in depth lifting)
RADII_M = np.array([0.020, 0.016, 0.012, 0.010, 0.009] + [0.011, 0.009, 0.008, 0.007] * 4, dtype=np.float64)


def _as_joints(joints: np.ndarray, n: int) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.shape != (n, 3):
        raise ValueError(f"expected ({n}, 3) joint positions, got shape {j.shape}")
    return j


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def metacarpal_bases(joints21: np.ndarray) -> np.ndarray:
    """(4, 3) derived carpometacarpal points of the index, middle, ring and little fingers."""
    j = _as_joints(joints21, 21)
    return j[0] + METACARPAL_BASE * (j[[5, 9, 13, 17]] - j[0])


def hand_axes(joints21: np.ndarray, handedness: str) -> np.ndarray:
    """3x3 rotation whose columns are the hand's OpenXR-style axes: X across the palm (towards the
    little finger on a right hand, towards the thumb on a left one), Y out of the back of the
    hand, Z from the knuckles towards the wrist."""
    j = _as_joints(joints21, 21)
    z = _unit(j[0] - j[9])
    across = j[17] - j[5] if handedness == "right" else j[5] - j[17]
    x = _unit(across - (across @ z) * z)
    return np.stack([x, np.cross(z, x), z], axis=1)


def joint_rotations(joints21: np.ndarray, handedness: str) -> np.ndarray:
    """(21, 3, 3) per-joint orientations (OpenXR axes, columns X, Y, Z): −Z along the joint's bone
    towards the tip (the bone it is the base of; tips reuse their last bone), X the hand's
    across-palm axis made orthogonal to the bone, so finger flexion rotates about X."""
    j = _as_joints(joints21, 21)
    H = hand_axes(j, handedness)
    child = np.array([PARENTS.index(i) if i in PARENTS else -1 for i in range(21)])
    R = np.empty((21, 3, 3))
    for i in range(21):
        if i == 0:
            R[i] = H
            continue
        fwd = j[child[i]] - j[i] if child[i] > 0 else j[i] - j[PARENTS[i]]
        z = -_unit(fwd)
        if np.linalg.norm(fwd) < 1e-9:
            z = H[:, 2]
        x = H[:, 0] - (H[:, 0] @ z) * z
        x = _unit(x) if np.linalg.norm(x) > 1e-6 else H[:, 1]
        R[i] = np.stack([x, np.cross(z, x), z], axis=1)
    return R


def to_openxr(joints21: np.ndarray, handedness: str, scale: float = 1.0) -> dict[str, np.ndarray]:
    """MediaPipe 21 → OpenXR 26: ``positions`` (26, 3), ``rotations`` (26, 3, 3) in the same frame
    as the input, ``radii`` (26,) metres (average adult hand times ``scale``), ``derived`` (26,) bool."""
    j = _as_joints(joints21, 21)
    R21 = joint_rotations(j, handedness)
    bases = metacarpal_bases(j)
    pos = np.empty((26, 3))
    rot = np.empty((26, 3, 3))
    rad = np.empty(26)
    H = hand_axes(j, handedness)
    for k, m in enumerate(_XR_FROM_MP):
        if m >= 0:
            pos[k], rot[k], rad[k] = j[m], R21[m], RADII_M[m] * scale
    for f, mcp in enumerate((5, 9, 13, 17)):
        k = 6 + 5 * f
        pos[k] = bases[f]
        z = -_unit(j[mcp] - bases[f])
        x = _unit(H[:, 0] - (H[:, 0] @ z) * z)
        rot[k], rad[k] = np.stack([x, np.cross(z, x), z], axis=1), RADII_M[mcp] * scale
    pos[0], rot[0], rad[0] = (bases[1] + j[9]) / 2, H, 0.02 * scale
    derived = np.array([m < 0 for m in _XR_FROM_MP])
    return {"positions": pos, "rotations": rot, "radii": rad, "derived": derived}


def from_openxr(positions26: np.ndarray) -> np.ndarray:
    """OpenXR 26 → MediaPipe 21 (drops the palm and finger metacarpal bases)."""
    p = _as_joints(positions26, 26)
    idx = [k for _, k in sorted((m, k) for k, m in enumerate(_XR_FROM_MP) if m >= 0)]
    return p[idx].copy()


def to_visionos(joints21: np.ndarray, handedness: str) -> dict[str, np.ndarray]:
    """MediaPipe 21 → visionOS 27: ``transforms`` (27, 4, 4) joint poses in the input frame,
    ``anchor_from_joint`` (27, 4, 4) relative to the wrist joint (visionOS'
    ``anchorFromJointTransform``), ``tracked`` (27,) bool (False for the forearm, which is not
    observed) and ``derived`` (27,) bool."""
    j = _as_joints(joints21, 21)
    xr = to_openxr(j, handedness)
    T = np.tile(np.eye(4), (27, 1, 1))
    xr_of_vos = [1, 2, 3, 4, 5] + [k for f in range(4) for k in range(6 + 5 * f, 11 + 5 * f)]
    for v, k in enumerate(xr_of_vos):
        T[v, :3, :3], T[v, :3, 3] = xr["rotations"][k], xr["positions"][k]
    H = hand_axes(j, handedness)
    T[25, :3, :3] = T[26, :3, :3] = H
    T[25, :3, 3] = j[0]
    T[26, :3, 3] = j[0] + FOREARM_LENGTH_M * H[:, 2]
    anchor = np.linalg.inv(T[0]) @ T
    tracked = np.ones(27, bool)
    tracked[25:] = False
    derived = np.array([m < 0 for m in _VOS_FROM_MP])
    return {"transforms": T, "anchor_from_joint": anchor, "tracked": tracked, "derived": derived}


def from_visionos(transforms27: np.ndarray) -> np.ndarray:
    """visionOS 27 (4x4 transforms or (27, 3) positions) → MediaPipe 21 positions."""
    t = np.asarray(transforms27, dtype=np.float64)
    p = t[:, :3, 3] if t.ndim == 3 else t
    p = _as_joints(p, 27)
    idx = [k for _, k in sorted((m, k) for k, m in enumerate(_VOS_FROM_MP) if m >= 0)]
    return p[idx].copy()


def bone_lengths(joints21: np.ndarray) -> np.ndarray:
    """(20,) lengths of :data:`BONES`, in the joints' units."""
    j = _as_joints(joints21, 21)
    return np.array([np.linalg.norm(j[c] - j[p]) for p, c in BONES])


def map_joint_names(names: list[str] | tuple[str, ...], mapping: dict[str, str]) -> np.ndarray:
    """Index array ``idx`` with ``other[idx[i]]`` = MediaPipe joint ``i``, from a dataset's joint
    ``names`` and an explicit ``mapping`` {dataset name: MediaPipe name}."""
    missing = [m for m in MEDIAPIPE if m not in mapping.values()]
    if missing:
        raise ValueError(f"mapping does not cover MediaPipe joints {missing}")
    inv = {v: k for k, v in mapping.items()}
    return np.array([list(names).index(inv[m]) for m in MEDIAPIPE])
