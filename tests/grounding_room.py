"""A hand-built room whose grounding answers are known (shared by the grounding tests): a
5 x 4 m room with a door in the south wall, a window in the east wall, a red and a blue chair
either side of a round table, a grey sofa against the north wall, a bin under the window and a
whiteboard on the west wall; coloured points sampled on every surface."""

from __future__ import annotations

import numpy as np

from sensors.room import RoomDescription, RoomElement
from spatial.scene.geometry import PointCloud

RED, BLUE, GREY, WOOD, WALL, WHITE, BLACK = (170, 40, 35), (40, 60, 150), (128, 128, 126), (140, 95, 55), \
    (215, 205, 185), (250, 250, 248), (30, 30, 32)


def _pose(x: float, y: float, z: float, yaw_deg: float = 0.0) -> np.ndarray:
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    T = np.eye(4)
    T[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    T[:3, 3] = (x, y, z)
    return T


def _box_points(T, dims, rgb, step=0.03, round_top=False):
    w, d, h = dims
    g = lambda n: np.linspace(-0.5, 0.5, max(int(n / step), 2))  # noqa: E731
    pts = []
    for u in g(w):
        for v in g(d):
            pts += [(u * w, v * d, -h / 2), (u * w, v * d, h / 2)]
        for t in g(h):
            pts += [(u * w, -d / 2, t * h), (u * w, d / 2, t * h)]
    for v in g(d):
        for t in g(h):
            pts += [(-w / 2, v * d, t * h), (w / 2, v * d, t * h)]
    p = np.array(pts)
    if round_top:  # keep what lies inside the inscribed ellipse (a round table)
        p = p[(p[:, 0] / (w / 2)) ** 2 + (p[:, 1] / (d / 2)) ** 2 <= 1.0]
    p = p @ T[:3, :3].T + T[:3, 3]
    return p, np.tile(np.array(rgb, np.uint8), (len(p), 1))


def room_and_cloud() -> tuple[RoomDescription, PointCloud]:
    E = []
    walls = [("wall-s", _pose(2.5, 0.0, 1.25, 0), 5.0), ("wall-n", _pose(2.5, 4.0, 1.25, 180), 5.0),
             ("wall-e", _pose(5.0, 2.0, 1.25, 90), 4.0), ("wall-w", _pose(0.0, 2.0, 1.25, -90), 4.0)]
    for ident, T, w in walls:
        E.append(RoomElement(ident, "wall", (w, 0.1, 2.5), T))
    E.append(RoomElement("door-1", "door", (0.9, 0.0, 2.0), _pose(1.0, 0.0, 1.0, 0), parent="wall-s", is_open=False))
    E.append(RoomElement("window-1", "window", (1.2, 0.0, 1.0), _pose(5.0, 2.0, 1.5, 90), parent="wall-e"))
    E.append(RoomElement("floor-1", "floor", (5.0, 4.0, 0.0), _pose(2.5, 2.0, 0.0),
                         polygon_m=((-2.5, -2.0), (2.5, -2.0), (2.5, 2.0), (-2.5, 2.0))))
    objects = [
        ("chair-red", "chair", (0.5, 0.5, 0.9), _pose(1.6, 1.0, 0.45, 0), RED, False),
        ("chair-blue", "chair", (0.5, 0.5, 0.9), _pose(3.4, 1.0, 0.45, 0), BLUE, False),
        ("table-1", "table", (1.0, 1.0, 0.75), _pose(2.5, 1.0, 0.375), WOOD, True),
        ("sofa-1", "sofa", (2.0, 0.9, 0.85), _pose(2.5, 3.5, 0.425, 180), GREY, False),
        ("bin-1", "unknown", (0.3, 0.3, 0.4), _pose(4.75, 2.0, 0.2), BLACK, False),
    ]
    points, colours = [], []
    for ident, cat, dims, T, rgb, rnd in objects:
        E.append(RoomElement(ident, cat, dims, T, score=0.9 if cat != "unknown" else None))
        p, c = _box_points(T, dims, rgb, round_top=rnd)
        points.append(p)
        colours.append(c)
    for ident, T, w in walls:
        p, c = _box_points(T, (w, 0.0, 2.5), WALL, step=0.025)
        if ident == "wall-w":  # a whiteboard, 2 cm proud of the wall, 1.2 x 0.9 m from 0.9 m up
            local = (p - T[:3, 3]) @ T[:3, :3]
            board = (np.abs(local[:, 0]) < 0.6) & (local[:, 2] > 0.9 - 1.25) & (local[:, 2] < 1.8 - 1.25)
            c[board] = WHITE
            p[board] += 0.02 * T[:3, 1]
        points.append(p)
        colours.append(c)
    floor = np.stack(np.meshgrid(np.arange(0.02, 5.0, 0.05), np.arange(0.02, 4.0, 0.05)), -1).reshape(-1, 2)
    points.append(np.c_[floor, np.zeros(len(floor))])
    colours.append(np.tile(np.array(WOOD, np.uint8), (len(floor), 1)))
    cloud = PointCloud(np.concatenate(points), colors=np.concatenate(colours))
    return RoomDescription(E), cloud




def look_at(eye, target) -> np.ndarray:
    """T_world_camera (OpenCV axes) of a camera at ``eye`` looking at ``target``, world z up."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], 1)
    T[:3, 3] = eye
    return T


def render_keyframe(cloud: PointCloud, T_world_camera: np.ndarray, size=(160, 120), focal=120.0):
    """A keyframe of the coloured points seen from ``T_world_camera``: nearest point per pixel
    (splatted 2x2), colour and depth in metres (0 where nothing is seen)."""
    from sensors.types import CameraIntrinsics
    from spatial.scene.scene import Keyframe

    w, h = size
    K = CameraIntrinsics(focal, focal, w / 2, h / 2, w, h)
    T = np.linalg.inv(T_world_camera)
    p = cloud.points.astype(float) @ T[:3, :3].T + T[:3, 3]
    front = p[:, 2] > 0.05
    p, c = p[front], cloud.colors[front]
    u = (K.fx * p[:, 0] / p[:, 2] + K.cx).astype(int)
    v = (K.fy * p[:, 1] / p[:, 2] + K.cy).astype(int)
    color = np.zeros((h, w, 3), np.uint8)
    depth = np.full((h, w), np.inf, np.float32)
    uu = np.concatenate([u + du for du in (0, 1) for _ in (0, 1)])
    vv = np.concatenate([v + dv for _ in (0, 1) for dv in (0, 1)])
    zz, cc = np.tile(p[:, 2], 4), np.tile(c, (4, 1))
    ok = (uu >= 0) & (uu < w) & (vv >= 0) & (vv < h)
    pix, zz, cc = vv[ok] * w + uu[ok], zz[ok], cc[ok]
    order = np.lexsort((zz, pix))  # by pixel, nearest first
    first = order[np.unique(pix[order], return_index=True)[1]]
    depth.reshape(-1)[pix[first]] = zz[first]
    color.reshape(-1, 3)[pix[first]] = cc[first]
    depth[~np.isfinite(depth)] = 0
    return Keyframe(0, T_world_camera, K, color, depth)


def room_scene():
    """The room as a :class:`~spatial.scene.Scene`: its cloud and room, one camera pose, no keyframes."""
    from sensors.types import CameraIntrinsics, Trajectory
    from spatial.scene import Scene

    room, cloud = room_and_cloud()
    return Scene(Trajectory([0], np.eye(4)[None]), CameraIntrinsics(500, 500, 320, 240, 640, 480), cloud=cloud, room=room)
