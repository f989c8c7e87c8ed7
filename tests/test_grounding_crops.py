"""Keyframe views of deep objects: a box hides its own far side, which must not count as occlusion;
something in front of it must."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.room import RoomElement
from sensors.types import CameraIntrinsics
from spatial.grounding.crops import best_keyframe, object_views
from spatial.scene.scene import Keyframe

K = CameraIntrinsics(300, 300, 160, 120, 320, 240)
R_LOOK_Y = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)  # OpenCV camera looking along world +y, z up


class _Scene:
    def __init__(self, keyframes: list[Keyframe]) -> None:
        self.keyframes = keyframes
        self.cache: dict = {}


def _keyframe(depth_of_sofa_m: float, occluder_at_m: float | None = None) -> Keyframe:
    """Camera at (0, 0, 0.45) looking +y at a 2 m wide, 0.85 m high sofa centred at y = 3 in front
    of a wall at y = 5 (depth rendered by ray casting); optionally a panel across the middle."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R_LOOK_Y, (0.0, 0.0, 0.45)
    v, u = np.mgrid[0:K.height, 0:K.width]
    ray_world = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones(u.shape)], -1) @ R_LOOK_Y.T
    t_front = (3.0 - depth_of_sofa_m / 2) / ray_world[..., 1]  # the ray's z-depth (camera z = 1 per unit t)
    p = ray_world * t_front[..., None] + T[:3, 3]
    on_sofa = (np.abs(p[..., 0]) < 1.0) & (np.abs(p[..., 2] - 0.45) < 0.425)
    depth = np.where(on_sofa, t_front, 5.0 / ray_world[..., 1])
    if occluder_at_m is not None:
        depth[60:180, 40:280] = occluder_at_m
    color = np.random.default_rng(0).integers(0, 255, (K.height, K.width, 3)).astype(np.uint8)
    return Keyframe(0, T, K, color, depth.astype(np.float32))


def _sofa(depth_m: float) -> RoomElement:
    T = np.eye(4)
    T[:3, 3] = (0.0, 3.0, 0.45)
    return RoomElement("sofa-1", "sofa", (2.0, depth_m, 0.85), T)


@pytest.mark.parametrize("depth_m", [0.2, 0.5, 0.9])
def test_a_deep_object_in_plain_view_is_fully_visible(depth_m):
    views = object_views(_Scene([_keyframe(depth_m)]), [_sofa(depth_m)])["sofa-1"]
    assert len(views) == 1 and views[0].visibility == pytest.approx(1.0)


def test_an_object_behind_a_panel_is_hidden_and_the_clear_view_wins():
    scene = _Scene([_keyframe(0.9, occluder_at_m=1.0), _keyframe(0.9)])
    views = object_views(scene, [_sofa(0.9)])["sofa-1"]
    assert [v.keyframe for v in views] == [1]
    assert best_keyframe(scene, _sofa(0.9)) == 1
