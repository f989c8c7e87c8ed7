"""spatial.scene.shapes: the shared plane, polygon and box helpers, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from spatial.scene.shapes import (
    box_footprint,
    box_iou_3d,
    box_midline_2d,
    box_point_distance,
    convex_clip,
    fit_line,
    fit_plane,
    points_in_polygon,
    polygon_area,
    rect_corners_2d,
    signed_area,
    xz_rect_iou,
)

SQUARE = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], dtype=float)  # 2 x 2 m, counter-clockwise


def pose(yaw_deg: float = 0.0, xyz=(0.0, 0.0, 0.0), roll_deg: float = 0.0) -> np.ndarray:
    """4x4 pose: turned by yaw about z after a roll about x, then moved to ``xyz`` (metres)."""
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("zx", [yaw_deg, roll_deg], degrees=True).as_matrix()
    T[:3, 3] = xyz
    return T


def grid_area(poly_a: np.ndarray, poly_b: np.ndarray, step: float = 0.01) -> float:
    """Area (m²) of the intersection of two polygons by counting grid cells (cross-check)."""
    both = np.vstack([poly_a, poly_b])
    lo, hi = both.min(0), both.max(0)
    gx, gy = np.meshgrid(np.arange(lo[0], hi[0], step) + step / 2, np.arange(lo[1], hi[1], step) + step / 2)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return float(np.sum(points_in_polygon(pts, poly_a) & points_in_polygon(pts, poly_b))) * step**2


# --- polygons ------------------------------------------------------------------------------------


def test_polygon_area_is_absolute_and_signed_area_follows_winding():
    assert polygon_area(SQUARE) == 4.0 and polygon_area(SQUARE[::-1]) == 4.0
    assert signed_area(SQUARE) == 4.0 and signed_area(SQUARE[::-1]) == -4.0
    assert polygon_area([[0, 0], [3, 0], [0, 1]]) == pytest.approx(1.5)
    assert polygon_area(SQUARE[:2]) == 0.0


def test_points_in_an_l_shaped_polygon():
    ell = np.array([[0, 0], [3, 0], [3, 1], [1, 1], [1, 3], [0, 3]], dtype=float)  # notch at x, y > 1
    pts = np.array([[0.5, 0.5], [2.5, 0.5], [0.5, 2.5], [2.0, 2.0], [-0.1, 0.5], [3.5, 0.5]])
    expected = [True, True, True, False, False, False]
    assert points_in_polygon(pts, ell).tolist() == expected
    assert points_in_polygon(pts, ell[::-1]).tolist() == expected  # either winding
    assert not points_in_polygon(pts, ell[:2]).any()  # no polygon, nothing inside


def test_convex_clip_of_overlapping_disjoint_and_nested_polygons():
    overlap = convex_clip(SQUARE, SQUARE + 1)
    assert polygon_area(overlap) == pytest.approx(1.0) and signed_area(overlap) > 0
    assert polygon_area(convex_clip(SQUARE[::-1], (SQUARE + 1)[::-1])) == pytest.approx(1.0)
    assert convex_clip(SQUARE, SQUARE + 5).shape == (0, 2)
    assert convex_clip(SQUARE, SQUARE + np.array([2.0, 0.0])).shape == (0, 2)  # touching along an edge: no area
    inner = rect_corners_2d((1, 1), 0.3, 0.5, 0.4)
    assert polygon_area(convex_clip(SQUARE, inner)) == pytest.approx(0.2)
    assert polygon_area(convex_clip(inner, SQUARE)) == pytest.approx(0.2)


@pytest.mark.parametrize("seed", range(4))
def test_convex_clip_agrees_with_counting_cells(seed):
    rng = np.random.default_rng(seed)
    a = rect_corners_2d(rng.uniform(-0.3, 0.3, 2), rng.uniform(0, np.pi), rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5))
    b = rng.uniform(-1, 1, (3, 2))  # a triangle
    assert polygon_area(convex_clip(a, b)) == pytest.approx(grid_area(a, b), abs=0.01)


def test_rect_corners_are_counter_clockwise_and_turned_by_yaw():
    c = rect_corners_2d((1.0, 2.0), 0.0, 2.0, 1.0)
    assert np.allclose(c, [[0, 1.5], [2, 1.5], [2, 2.5], [0, 2.5]])
    turned = rect_corners_2d((0.0, 0.0), np.pi / 2, 2.0, 1.0)  # the width now runs along y
    assert np.allclose(turned[1] - turned[0], [0, 2]) and signed_area(turned) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        rect_corners_2d((0, 0), 0.0, -1.0, 1.0)


def test_box_point_distance_inside_face_edge_and_corner():
    T = pose(30, (1.0, 2.0, 0.5))
    local = np.array([[0.2, -0.1, 0.3], [1.5, 0, 0], [1.3, 1.4, 0], [2.0, 2.0, 2.0]])  # box frame
    world = local @ T[:3, :3].T + T[:3, 3]
    d = box_point_distance(world, T, (2.0, 2.0, 2.0))
    assert np.allclose(d, [0.0, 0.5, np.hypot(0.3, 0.4), np.sqrt(3)])


def test_box_footprint_needs_a_gravity_aligned_box():
    fp = box_footprint(pose(90, (1, 1, 0.5)), (2.0, 1.0, 1.0))
    assert signed_area(fp) == pytest.approx(2.0)
    assert np.allclose(np.sort(fp, axis=0), np.sort([[0.5, 0], [1.5, 0], [1.5, 2], [0.5, 2]], axis=0))
    assert signed_area(box_footprint(pose(10, roll_deg=180), (2.0, 1.0, 1.0))) == pytest.approx(2.0)  # upside down
    box_footprint(pose(0, roll_deg=4.0), (1, 1, 1))  # within GRAVITY_TOLERANCE_DEG (5°): alignment noise
    with pytest.raises(ValueError, match="tilted"):
        box_footprint(pose(0, roll_deg=6.0), (1, 1, 1))


def test_box_iou_3d_shifted_turned_lifted_and_flat():
    unit = (1.0, 1.0, 1.0)
    assert box_iou_3d(pose(), unit, pose(), unit) == pytest.approx(1.0)
    assert box_iou_3d(pose(), unit, pose(0, (0.5, 0, 0)), unit) == pytest.approx(1 / 3)
    assert box_iou_3d(pose(), unit, pose(0, (0, 0, 0.5)), unit) == pytest.approx(1 / 3)
    assert box_iou_3d(pose(), unit, pose(45), unit) == pytest.approx(1 / np.sqrt(2))  # square ∩ diamond
    assert box_iou_3d(pose(), unit, pose(0, (2, 0, 0)), unit) == 0.0
    assert box_iou_3d(pose(), (1, 1, 0), pose(), unit) == 0.0  # no volume
    a, b = (pose(20, (0.1, 0.2, 0)), (1.2, 0.8, 0.9)), (pose(-35, (0.3, 0, 0.1)), (0.9, 1.1, 0.7))
    assert box_iou_3d(*a, *b) == pytest.approx(box_iou_3d(*b, *a))
    with pytest.raises(ValueError):
        box_iou_3d(pose(0, roll_deg=10), unit, pose(), unit)


def test_box_midline_2d():
    seg = box_midline_2d(pose(90, (1, 2, 1.5)), (4.0, 0.1, 3.0))
    assert np.allclose(seg, [[1, 0], [1, 4]])


def test_xz_rect_iou_of_rectangles_in_a_wall():
    door = pose(0, (1.0, 0.0, 1.0))  # rectangle in the x–z plane, normal along y
    dims = (1.0, 0.0, 2.0)
    assert xz_rect_iou(door, dims, door, dims) == pytest.approx(1.0)
    assert xz_rect_iou(pose(0, (1.5, 0.0, 1.0)), dims, door, dims) == pytest.approx(1 / 3)
    assert xz_rect_iou(pose(180, (1.0, 0.2, 1.0)), dims, door, dims) == pytest.approx(1.0)  # facing the other way
    assert xz_rect_iou(pose(0, (1.0, 0.31, 1.0)), dims, door, dims) == 0.0  # off the plane
    assert xz_rect_iou(pose(11, (1.0, 0.0, 1.0)), dims, door, dims) == 0.0  # planes 11° apart
    assert xz_rect_iou(pose(9, (1.0, 0.0, 1.0)), dims, door, dims) == pytest.approx(np.cos(np.radians(9)), abs=1e-9)
    assert xz_rect_iou(door, (0.0, 0.0, 2.0), door, dims) == 0.0


# --- planes and lines ----------------------------------------------------------------------------


def test_fit_plane_recovers_a_tilted_plane_and_honours_weights():
    rng = np.random.default_rng(0)
    normal = np.array([0.2, -0.3, 1.0]) / np.linalg.norm([0.2, -0.3, 1.0])
    basis = np.linalg.svd(normal[None])[2][1:]  # two directions in the plane
    pts = rng.uniform(-2, 2, (200, 2)) @ basis + 1.5 * normal  # n · p = 1.5
    n, off = fit_plane(pts)
    n, off = (n, off) if n @ normal > 0 else (-n, -off)
    assert np.allclose(n, normal) and off == pytest.approx(-1.5)
    outlier = np.vstack([pts, [[0.0, 0.0, 10.0]]])
    weights = np.r_[np.ones(len(pts)), 0.0]
    n_w, off_w = fit_plane(outlier, weights)
    assert abs(n_w @ normal) == pytest.approx(1.0) and abs(off_w) == pytest.approx(1.5)
    assert abs(fit_plane(outlier)[0] @ normal) < 1 - 1e-6  # unweighted, the outlier pulls it
    n, off = fit_plane(pts[:2])  # two points determine no plane
    assert np.isnan(n).all() and np.isnan(off)
    assert np.isnan(fit_plane(pts[:4], [1.0, 1.0, 0.0, 0.0])[0]).all()
    with pytest.raises(ValueError):
        fit_plane(pts[:4], [1.0, -1.0, 1.0, 1.0])


def test_fit_line_uses_the_n_dot_p_equals_offset_form():
    xy = np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 1.0]])  # y = 1
    n, off = fit_line(xy, like=np.array([0.0, 1.0]))
    assert np.allclose(n, [0, 1]) and off == pytest.approx(1.0)
    n, off = fit_line(xy, like=np.array([0.0, -1.0]))
    assert np.allclose(n, [0, -1]) and off == pytest.approx(-1.0)
    assert np.isnan(fit_line(xy[:1])[1])
