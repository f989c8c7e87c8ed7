import json

import numpy as np
import pytest
import trimesh

from sensors.errors import ConfigError
from sensors.room import OBJECT_CATEGORIES, RoomDescription
from sensors.sim import furniture, rooms
from sensors.sim.geometry import (
    box,
    convex_gap,
    cylinder,
    orthogonal_polygon_mesh,
    point_segment_distances,
    points_in_polygon,
    slab_with_holes,
)
from sensors.sim.rooms import PRESETS, generate_world

EXPECTED = {
    "studio": {"bed", "sofa", "table", "chair", "television", "storage", "stove", "oven", "sink", "refrigerator"},
    "kitchen": {"stove", "oven", "sink", "dishwasher", "refrigerator", "storage", "table", "chair", "washerDryer"},
    "bedroom": {"bed", "storage", "television", "chair", "table", "fireplace"},
    "apartment": {"bathtub", "toilet", "sink", "washerDryer", "sofa", "fireplace", "stairs", "television", "table", "chair"},
}
AGAINST_WALL = set(OBJECT_CATEGORIES) - {"table", "chair"}


@pytest.fixture(scope="module")
def worlds():
    return {(p, s): generate_world(p, s) for p in PRESETS for s in (0, 1)}


def local(points: np.ndarray, T: np.ndarray) -> np.ndarray:
    return (points - T[:3, 3]) @ T[:3, :3]


def test_same_seed_same_world_and_json_different_seed_differs(worlds):
    for p in PRESETS:
        a, b = worlds[(p, 0)], generate_world(p, 0)
        va, fa, oa = a.mesh_arrays()
        vb, fb, ob = b.mesh_arrays()
        assert np.array_equal(va, vb) and np.array_equal(fa, fb) and np.array_equal(oa, ob)
        assert [q.material for q in a.parts] == [q.material for q in b.parts]
        assert json.dumps(a.room.to_json()) == json.dumps(b.room.to_json())
        c = worlds[(p, 1)]
        assert json.dumps(c.room.to_json()) != json.dumps(a.room.to_json())
        assert c.mesh_arrays()[0].shape != va.shape or not np.array_equal(c.mesh_arrays()[0], va)


def test_every_category_appears_and_presets_hold_their_furniture(worlds):
    seen = set()
    for (p, _), w in worlds.items():
        cats = {e.category for e in w.room.objects}
        assert cats == EXPECTED[p], p
        seen |= cats
    assert seen == set(OBJECT_CATEGORIES)


def test_rooms_have_walls_openings_floors_and_sane_sizes(worlds):
    for (p, _), w in worlds.items():
        r = w.room
        assert 2.4 <= w.ceiling_height_m <= 3.2
        assert len(r.of("floor")) == len(w.floor_polygons) == (2 if p == "apartment" else 1)
        assert len(r.of("door")) >= 1 and len(r.of("window")) >= 1
        assert len(r.of("opening")) == len(w.doorways) == (1 if p == "apartment" else 0)
        walls = {e.identifier: e for e in r.of("wall")}
        assert len(walls) == (6 if p == "kitchen" else 5 if p == "apartment" else 4)
        for e in r.of("wall"):
            assert 0.1 <= e.dimensions_m[1] <= 0.15 and e.dimensions_m[2] == pytest.approx(w.ceiling_height_m)
        for e in r.of("door") + r.of("window") + r.of("opening"):
            assert e.parent in walls and e.dimensions_m[1] == 0.0
            wall = walls[e.parent]
            c = local(e.corners_m(), wall.T_world_element)  # the hole lies on its wall
            assert np.all(np.abs(c) <= np.array(wall.dimensions_m) / 2 + 1e-6)
            assert (e.is_open is not None) == (e.category == "door")
        for window in r.of("window"):
            assert 0.8 <= window.corners_m()[:, 2].min() <= 1.5  # sill
        for floor, poly in zip(r.of("floor"), w.floor_polygons):
            assert np.allclose(np.array(floor.polygon_m) + floor.center_m[:2], poly)
            area = 0.5 * np.sum(poly[:, 0] * np.roll(poly[:, 1], -1) - np.roll(poly[:, 0], -1) * poly[:, 1])
            assert area > 4.0  # counter-clockwise, and a real room
        if p == "kitchen":
            assert len(w.floor_polygons[0]) == 6  # L-shaped
        back = RoomDescription.from_json(json.loads(json.dumps(r.to_json())))
        assert [e.identifier for e in back.elements] == [e.identifier for e in r.elements]


def test_geometry_matches_description(worlds):
    for w in worlds.values():
        elems = {e.identifier: e for e in w.room.elements}
        F = w.mesh_arrays()[1]
        assert len(F) <= 20_000
        labelled = {q.element_id for q in w.parts} - {""}
        assert labelled == {e.identifier for e in w.room.elements if e.category != "opening"}
        for q in w.parts:
            if not q.element_id:
                continue
            e = elems[q.element_id]
            if e.category == "door" and e.is_open:
                continue  # an open leaf swings out of its wall
            box_e = elems[e.parent] if e.category in ("door", "window") else e
            loc = local(q.vertices, box_e.T_world_element)
            assert np.all(np.abs(loc) <= np.array(box_e.dimensions_m) / 2 + 1e-6), (e.category, e.identifier)
        for e in w.room.objects:
            assert abs(e.T_world_element[2, 2] - 1) < 1e-12  # yaw only
            assert e.corners_m()[:, 2].min() == pytest.approx(0.0, abs=1e-9)
            assert e.corners_m()[:, 2].max() < w.ceiling_height_m


def test_objects_inside_their_room_and_never_overlap(worlds):
    for w in worlds.values():
        objs = w.room.objects
        for e in objs:
            c = e.corners_m()[:, :2]
            assert any(points_in_polygon(c, poly).all() for poly in w.floor_polygons), e.category
        # dense samples of each footprint must stay out of every other (grown by 1 cm)
        u = np.linspace(-0.5, 0.5, 15)
        grid = np.stack(np.meshgrid(u, u), -1).reshape(-1, 2)
        for i, a in enumerate(objs):
            pts = grid * a.dimensions_m[:2] @ a.T_world_element[:2, :2].T + a.T_world_element[:2, 3]
            for b in objs[i + 1:]:
                q = (pts - b.T_world_element[:2, 3]) @ b.T_world_element[:2, :2]
                inside = np.all(np.abs(q) < np.array(b.dimensions_m[:2]) / 2 + 0.01, axis=1)
                assert not inside.any(), (a.category, b.category)


def test_wall_furniture_backs_onto_a_wall_and_keeps_doors_and_windows_clear(worlds):
    for w in worlds.values():
        edges = [(p, np.roll(p, -1, axis=0)) for p in w.floor_polygons]
        for e in w.room.objects:
            if e.category not in AGAINST_WALL:
                continue
            back_mid = e.T_world_element[:2, 3] + e.T_world_element[:2, 1] * e.dimensions_m[1] / 2
            dist = min(point_segment_distances(back_mid[None], a, b).min() for a, b in edges)
            assert dist < 0.05, e.category
        objs = w.room.objects
        for hole in w.room.of("door") + w.room.of("window") + w.room.of("opening"):
            T = hole.T_world_element
            sill = hole.corners_m()[:, 2].min()
            for side in (1, -1):  # in front of the hole, both sides of its wall
                centre = T[:2, 3] + side * T[:2, 1] * 0.35
                zone = centre + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [hole.dimensions_m[0] / 2, 0.2] @ T[:2, :2].T
                for o in objs:
                    if convex_gap(zone, o.corners_m()[::2, :2][[0, 1, 3, 2]]) == 0.0:
                        assert hole.category == "window" and o.dimensions_m[2] <= sill + 1e-9, (hole.category, o.category)


def test_walkable_space_around_each_room_centre(worlds):
    for w in worlds.values():
        for poly in w.floor_polygons:
            c = rooms._walk_centre(poly)
            ring = c + 0.1 * np.stack([np.cos(np.linspace(0, 2 * np.pi, 16)), np.sin(np.linspace(0, 2 * np.pi, 16))], 1)
            assert w.is_free(ring, clearance_m=0.4).all()  # an 0.8 m wide path around the centre
        assert not w.is_free([[-5.0, -5.0]]).any()


def test_rays_pass_through_holes_and_are_stopped_by_solid_wall(worlds):
    o3d = pytest.importorskip("open3d")
    for w in worlds.values():
        V, F, owner = w.mesh_arrays()
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(V.astype(np.float32)), o3d.core.Tensor(F.astype(np.uint32)))
        walls = {e.identifier: e for e in w.room.of("wall")}
        rays, expect = [], []
        for hole in w.room.of("door") + w.room.of("window") + w.room.of("opening"):
            wall = walls[hole.parent]
            y, t = wall.T_world_element[:3, 1], wall.dimensions_m[1]
            for z, through in ((hole.center_m[2], True), (w.ceiling_height_m - 0.05, False)):
                start = hole.center_m + y * (t / 2 + 0.3)
                start[2] = z
                rays.append([*start, *-y])
                expect.append((hole, wall, through))
        ans = scene.cast_rays(o3d.core.Tensor(np.array(rays, np.float32)))
        prim, dist = ans["primitive_ids"].numpy(), ans["t_hit"].numpy()
        for (hole, wall, through), pid, d in zip(expect, prim, dist):
            hit = w.parts[owner[pid]].element_id if np.isfinite(d) else None
            if through:
                assert hit != wall.identifier, hole.category
                if hole.category == "opening":
                    assert d > 0.3 + wall.dimensions_m[1]  # into the next room
                elif hole.category == "window" or not hole.is_open:
                    assert hit == hole.identifier  # the pane or the closed leaf
            else:
                assert hit == wall.identifier and d == pytest.approx(0.3, abs=1e-3)


def test_primitives_are_closed_with_outward_normals(worlds):
    v, f = box((0, 0, 0), (1, 2, 3))
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = v[f].mean(1) - [0.5, 1, 1.5]
    assert np.all((n * out).sum(1) > 0)
    for m in (box((0, 0, 0), (1, 2, 3)), cylinder((1, 1, 0), (0.3, 0.2), 1.0),
              slab_with_holes(4, 0.12, 2.6, [(0.5, 1.4, 0, 2), (2, 3, 0.9, 2.1)])):
        tm = trimesh.Trimesh(*m)
        assert tm.is_watertight and tm.is_winding_consistent and tm.volume > 0
    assert trimesh.Trimesh(*slab_with_holes(4, 0.12, 2.6, [(0.5, 1.4, 0, 2)])).volume == pytest.approx((4 * 2.6 - 0.9 * 2) * 0.12)
    w = worlds[("apartment", 0)]
    for q in w.parts:
        tm = trimesh.Trimesh(q.vertices, q.triangles)
        if q.material in ("wood", "tile", "carpet") and np.ptp(q.vertices[:, 2]) == 0:  # floors face up
            assert np.all(tm.face_normals[:, 2] > 0.99)
        elif q.material == "plaster" and np.all(q.vertices[:, 2] == w.ceiling_height_m):  # ceiling faces down
            assert np.all(tm.face_normals[:, 2] < -0.99)
        else:
            assert tm.is_watertight and tm.volume > 0, q.material
    L = orthogonal_polygon_mesh(np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]), 0.0, True)
    assert trimesh.Trimesh(*L).area == pytest.approx(3.0)


def test_furniture_builders_stay_in_their_box():
    rng = np.random.default_rng(7)
    for cat in OBJECT_CATEGORIES:
        for _ in range(3):
            dims = furniture.sample_dims(cat, rng)
            for lo_hi, x in zip(furniture.SIZE_RANGES[cat], dims):
                assert lo_hi[0] - 1e-9 <= x <= lo_hi[1] + 1e-9, cat
            T = np.eye(4)
            T[:3, 3] = [1.0, 2.0, dims[2] / 2]
            parts = furniture.build(cat, dims, rng, T, "X")
            assert len(parts) >= 3 and all(q.element_id == "X" for q in parts)
            v = np.vstack([q.vertices for q in parts]) - T[:3, 3]
            assert np.all(np.abs(v) <= np.array(dims) / 2 + 1e-9), cat
            assert np.allclose(v.max(0) - v.min(0), dims, atol=0.03), cat  # and fill it


@pytest.mark.parametrize(
    ("preset", "overrides", "words"),
    [
        ("castle", {}, ["castle", "studio, kitchen, bedroom, apartment"]),
        ("bedroom", {"width_m": -2.0}, ["width_m", "positive"]),
        ("studio", {"length_m": 0}, ["length_m", "positive"]),
        ("kitchen", {"width_m": float("nan")}, ["width_m", "positive"]),
        ("studio", {"ceiling_m": 1.5}, ["ceiling_m", "too low"]),
        ("studio", {"depth_m": 3.0}, ["depth_m", "width_m"]),
        ("studio", {"width_m": 50.0}, ["width_m", "limit"]),
        ("bedroom", {"width_m": 1.5}, ["bedroom", "1.50", "too small", "bed"]),
        ("apartment", {"length_m": 2.0}, ["too small", "2.00"]),
        ("studio", {"seed": -1}, ["seed", "non-negative"]),
    ],
)
def test_bad_configs_raise_config_error(preset, overrides, words):
    overrides = dict(overrides)
    seed = overrides.pop("seed", 0)
    with pytest.raises(ConfigError) as err:
        generate_world(preset, seed, **overrides)
    for word in words:
        assert word in str(err.value)


def test_overrides_are_honoured():
    w = generate_world("bedroom", 3, width_m=5.0, length_m=4.2, ceiling_m=2.5)
    poly = w.floor_polygons[0]
    assert np.allclose(np.ptp(poly, axis=0), [5.0, 4.2]) and w.ceiling_height_m == 2.5
    assert json.dumps(generate_world("bedroom", 3).room.to_json()) != json.dumps(w.room.to_json())


@pytest.mark.shared_data
def test_chair_and_table_sizes_match_real_scan2cad_boxes(shared_data):
    """Scan2CAD's oriented boxes of real chairs and a table (ScanNet scene0470_00) must fall in
    (or within 15 % of) the generator's size ranges."""
    from scipy.spatial.transform import Rotation

    path = shared_data / "scannet_scene0470_00_scan2cad" / "scan2cad_annotation_scene0470_00.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    ann = json.loads(path.read_text())[0]

    def scaled_rotation(trs):
        w, x, y, z = trs["rotation"]
        return Rotation.from_quat([x, y, z, w]).as_matrix() @ np.diag(trs["scale"])

    scan = scaled_rotation(ann["trs"])
    names = {"03001627": "chair", "04379243": "table"}
    checked = 0
    for m in ann["aligned_models"]:
        cat = names.get(m["catid_cad"])
        if cat is None:
            continue
        axes = np.linalg.inv(scan) @ scaled_rotation(m["trs"]) @ np.diag(m["bbox"])  # CAD box axes in the scan (z-up)
        size = 2 * np.linalg.norm(axes, axis=0)
        up = int(np.argmax(np.abs(axes[2]) / np.linalg.norm(axes, axis=0)))
        height, (a, b) = size[up], np.delete(size, up)
        (wr, dr, hr) = furniture.SIZE_RANGES[cat]
        assert hr[0] * 0.85 <= height <= hr[1] * 1.15, (cat, height)
        lo, hi = min(wr[0], dr[0]) * 0.85, max(wr[1], dr[1]) * 1.15
        assert lo <= min(a, b) and max(a, b) <= hi, (cat, a, b)
        checked += 1
    assert checked == 6
