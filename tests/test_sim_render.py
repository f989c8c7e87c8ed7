"""Simulator rendering: ideal depth against an independent ray cast, sensor noise, texture, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_sim_motion import box_part, box_world

from sensors.errors import CalibrationError, ConfigError
from sensors.room import RoomDescription
from sensors.sim.noise import SensorModel, depth_sigma_m
from sensors.sim.render import Renderer, planar_faces
from sensors.sim.rooms import generate_world
from sensors.sim.trajectory import plan_scan
from sensors.sim.world import SimWorld
from sensors.types import CameraIntrinsics

K = CameraIntrinsics(525.0, 525.0, 319.5, 239.5, 640, 480)


def look_at(eye, target) -> np.ndarray:
    """T_world_camera of an OpenCV camera at ``eye`` looking at ``target`` with the image upright."""
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], 1)
    T[:3, 3] = eye
    return T


CORNER = look_at((0.6, 0.6, 1.6), (3.0, 2.4, 0.6))  # table, TV, two walls, floor
WALL = look_at((3.0, 1.8, 1.5), (0.0, 1.8, 1.3))  # the plaster wall at x = 0, square on
GRAZING = look_at((0.3, 0.25, 1.5), (4.8, 0.75, 1.3))  # along the wall at y = 0


@pytest.fixture(scope="module")
def world():
    return box_world()


@pytest.fixture(scope="module")
def renderer(world):
    return Renderer(world, K)


@pytest.fixture(scope="module")
def reference(world):
    """The same mesh for an independent brute-force ray caster (:func:`_reference_depth`)."""
    v, f, _ = world.mesh_arrays()
    return v[f]  # (M, 3, 3) triangle corners


def _reference_depth(tris, T, pixels):
    """z-depth and incidence angle (rad) at integer ``pixels`` (N, 2) (u, v) by Möller–Trumbore
    intersection of every pixel ray with every triangle (NaN where nothing is hit)."""
    d_cam = np.column_stack([(pixels[:, 0] - K.cx) / K.fx, (pixels[:, 1] - K.cy) / K.fy, np.ones(len(pixels))])
    d = d_cam @ T[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    o = T[:3, 3]
    e1, e2 = tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    pv = np.cross(d[:, None], e2[None])  # (N, M, 3)
    det = (e1[None] * pv).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        tv = o - tris[:, 0]
        u = (tv[None] * pv).sum(-1) * inv
        qv = np.cross(tv, e1)
        v = (d[:, None] * qv[None]).sum(-1) * inv
        t = (e2 * qv).sum(-1)[None] * inv
    hit = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9)
    t = np.where(hit, t, np.inf)
    best = np.argmin(t, axis=1)
    dist = t[np.arange(len(d)), best]
    normal = np.cross(e1, e2)[best]
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    z = np.where(np.isfinite(dist), dist * (d @ T[:3, 2]), np.nan)
    return z, np.arccos(np.abs((normal * d).sum(1)))


def _pixels(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, K.width, n), rng.integers(0, K.height, n)])


@pytest.mark.parametrize("T", [CORNER, WALL, GRAZING], ids=["corner", "wall", "grazing"])
def test_ideal_depth_matches_independent_raycast(renderer, reference, T):
    """Three quarters of the pixels come from ray–plane fills between cast anchors: check all kinds."""
    color, depth, ideal = renderer.render(T, np.random.default_rng(0))
    assert color.shape == (480, 640, 3) and color.dtype == np.uint8
    assert depth.shape == ideal.shape == (480, 640) and depth.dtype == ideal.dtype == np.float32
    px = _pixels(800)
    z_ref, _ = _reference_depth(reference, T, px)
    z = ideal[px[:, 1], px[:, 0]]
    assert np.isfinite(z_ref).all()  # a closed room: every ray hits
    assert np.abs(z - z_ref).max() < 1e-4 + 1e-5 * z_ref.max()


def test_plane_fill_equals_casting_every_pixel(world, renderer):
    exact = Renderer(world, K, exact=True)
    for T in (CORNER, GRAZING, look_at((2.5, 2.0, 1.5), (2.6, 2.1, 0.0))):
        fast, full = renderer.render(T, np.random.default_rng(0))[2], exact.render(T, np.random.default_rng(0))[2]
        assert ((fast > 0) == (full > 0)).all()
        assert np.abs(fast - full).max() < 1e-4


def test_generated_apartment_renders_as_if_every_pixel_were_cast():
    world = generate_world("apartment", 0)
    traj = plan_scan(world, np.random.default_rng(0))
    fast, exact = Renderer(world, K), Renderer(world, K, exact=True)
    for t in np.linspace(0.1, 0.9, 4) * traj.duration_s:
        a, b = fast.render(traj.pose(t), np.random.default_rng(1), t), exact.render(traj.pose(t), np.random.default_rng(1), t)
        assert (np.abs(a[2] - b[2]) > 1e-3).mean() < 1e-3  # only sub-2-pixel slivers may differ
        assert (a[1] > 0).mean() > 0.8 and (a[2] > 0).all()


def test_faces_group_coplanar_triangles_and_know_convexity():
    box = box_part((0, 0, 0), (1, 2, 3), "wood")
    face, normal, _, _, convex = planar_faces(box.vertices, box.triangles, np.zeros(12, int))
    assert len(normal) == 6 and convex.all() and np.bincount(face).tolist() == [2] * 6
    # an L-shaped plate (two coplanar squares of one part) is one face, but not convex: never plane-filled
    v = np.array([[0, 0, 0], [2, 0, 0], [2, 1, 0], [0, 1, 0], [1, 1, 0], [1, 2, 0], [0, 2, 0]], float)
    t = np.array([[0, 1, 2], [0, 2, 3], [3, 4, 5], [3, 5, 6]])
    _, normal, _, _, convex = planar_faces(v, t, np.zeros(4, int))
    assert len(normal) == 1 and not convex[0] and np.allclose(np.abs(normal[0]), [0, 0, 1])


def test_noisy_depth_follows_the_noise_model(world, reference):
    renderer = Renderer(world, K, SensorModel(disparity_step_px=0.0))  # the noise model alone
    px = _pixels(3000, seed=1)
    z_ref, theta = _reference_depth(reference, CORNER, px)
    _, depth, _ = renderer.render(CORNER, np.random.default_rng(3))
    z = depth[px[:, 1], px[:, 0]].astype(np.float64)
    ok = z > 0
    assert ok.mean() > 0.9
    sigma = depth_sigma_m(z_ref, theta)
    err = z[ok] - z_ref[ok]
    assert np.mean(np.abs(err) <= 4 * sigma[ok] + 0.0005) >= 0.99
    far = z_ref[ok] > 1.5  # σ ≫ 1 mm quantisation: the normalised error is ~N(0, 1)
    assert far.sum() > 300
    assert 0.8 < np.std(err[far] / sigma[ok][far]) < 1.2
    assert abs(np.mean(err[far] / sigma[ok][far])) < 0.15
    assert np.allclose(z[ok] * 1000, np.rint(z[ok] * 1000), atol=1e-3)  # 1 mm steps


def test_depth_is_quantised_in_disparity_steps(renderer, reference):
    px = _pixels(3000, seed=5)
    z_ref, _ = _reference_depth(reference, CORNER, px)
    _, depth, _ = renderer.render(CORNER, np.random.default_rng(3))
    z = depth[px[:, 1], px[:, 0]].astype(np.float64)
    ok = z > 0
    fb = K.fx * 0.075 / 0.125  # depth × disparity, disparity counted in 1/8-pixel steps
    on_grid = fb / np.rint(fb / z[ok])
    assert np.abs(z[ok] - on_grid).max() <= 0.0005 + 1e-6  # a disparity level, up to the 1 mm storage rounding
    levels_far = np.unique(np.rint(z[ok & (z_ref > 2.0)] * 1000))
    gaps = np.diff(levels_far)
    assert gaps.min() >= 10  # ≥ 1 cm between representable depths beyond 2 m (f = 525 px, b = 7.5 cm)
    err = z[ok] - z_ref[ok]
    assert abs(np.median(err)) < 0.003  # quantisation adds no bias


def test_depth_holes_at_grazing_angles_edges_and_range(world, renderer, reference):
    px = _pixels(4000, seed=2)
    _, theta = _reference_depth(reference, GRAZING, px)
    _, depth, ideal = renderer.render(GRAZING, np.random.default_rng(4))
    z = depth[px[:, 1], px[:, 0]]
    graze = np.degrees(theta) > 76
    assert graze.sum() > 50 and (z[graze] == 0).all()
    assert (z[np.degrees(theta) < 60] > 0).mean() > 0.9
    # far side of every depth discontinuity is a hole (one pixel of projector shadow)
    _, depth, ideal = renderer.render(CORNER, np.random.default_rng(4))
    far_side = (ideal[:, 1:] - ideal[:, :-1]) > 0.1 * ideal[:, :-1]
    assert far_side.sum() > 50 and (depth[:, 1:][far_side] == 0).all()
    # beyond the sensor's range: none past max_depth_m, none closer than min_depth_m
    short = Renderer(world, K, SensorModel(min_depth_m=0.5, max_depth_m=2.0))
    _, depth, ideal = short.render(CORNER, np.random.default_rng(4))
    assert (ideal > 2.1).sum() > 1000 and (depth[ideal > 2.0] == 0).all()
    assert (depth[(ideal > 0.6) & (ideal < 1.9)] > 0).mean() > 0.8
    _, depth, ideal = renderer.render(look_at((0.25, 2.0, 1.5), (-1.0, 2.0, 1.5)), np.random.default_rng(4))
    assert (ideal < 0.3).all() and (depth == 0).all()


def test_colour_is_textured_everywhere(renderer):
    crop = (slice(100, 300), slice(200, 440))  # plaster only
    grays = [cv2.cvtColor(renderer.render(WALL, np.random.default_rng(s))[0], cv2.COLOR_RGB2GRAY) for s in (1, 2)]

    def band(g):  # 1.5–12 px structure: texture, not pixel noise or shading
        g = g.astype(np.float32)
        return (cv2.GaussianBlur(g, (0, 0), 1.5) - cv2.GaussianBlur(g, (0, 0), 12))[crop]

    b1, b2 = band(grays[0]), band(grays[1])
    assert b1.std() > 1.5  # visible low-contrast texture on a bare wall...
    assert np.corrcoef(b1.ravel(), b2.ravel())[0, 1] > 0.9  # ...that is the surface, not the noise
    assert b1.std() < 8  # and still plaster-like
    # corners for ORB on a bare wall 3 m away, at the low FAST threshold used for indoor scenes
    wall_kp = cv2.ORB_create(nfeatures=2000, fastThreshold=6).detect(np.ascontiguousarray(grays[0][crop]))
    assert len(wall_kp) >= 100
    color, _, _ = renderer.render(CORNER, np.random.default_rng(1))
    assert len(cv2.ORB_create(nfeatures=2000).detect(cv2.cvtColor(color, cv2.COLOR_RGB2GRAY))) >= 300
    assert 60 < color.mean() < 200 and (color == 255).mean() < 0.01  # exposed sensibly, few clipped


def test_same_seed_identical_bytes(world, renderer):
    a = renderer.render(CORNER, np.random.default_rng(5), t_s=2.0)
    b = Renderer(world, K).render(CORNER, np.random.default_rng(5), t_s=2.0)
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    c = renderer.render(CORNER, np.random.default_rng(6), t_s=2.0)
    assert a[0].tobytes() != c[0].tobytes() and a[1].tobytes() != c[1].tobytes()
    assert a[2].tobytes() == c[2].tobytes()  # ideal depth has no noise


def test_exposure_drifts_slowly(renderer):
    means = [renderer.render(WALL, np.random.default_rng(0), t_s=t)[0].mean() for t in (0.0, 0.033, 10.0)]
    assert abs(means[1] - means[0]) < 0.5 and abs(means[2] - means[0]) > 0.5


def test_bad_inputs_raise(world, renderer):
    with pytest.raises(CalibrationError, match="image size must be positive"):
        CameraIntrinsics(525.0, 525.0, 0.0, 0.0, 0, 480)
    with pytest.raises(ConfigError, match="CameraIntrinsics"):
        Renderer(world, (525.0, 525.0, 319.5, 239.5))
    with pytest.raises(ConfigError, match="no parts"):
        Renderer(SimWorld([], RoomDescription(), [], 2.5), K)
    scaled = CORNER.copy()
    scaled[:3, :3] *= 1.1
    with pytest.raises(CalibrationError, match="T_world_camera rotation block is not a proper rotation"):
        renderer.render(scaled, np.random.default_rng(0))
    with pytest.raises(CalibrationError, match="T_world_camera must be a 4x4"):
        renderer.render(CORNER[:3], np.random.default_rng(0))
    nan = CORNER.copy()
    nan[0, 3] = np.nan
    with pytest.raises(CalibrationError, match="NaN"):
        renderer.render(nan, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="depth range is empty"):
        SensorModel(min_depth_m=3.0, max_depth_m=1.0)
    with pytest.raises(ConfigError, match="read_noise_dn"):
        SensorModel(read_noise_dn=-1.0)
