"""spatial.rooms.merge: several scans of one home, in one world frame, become one structure."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sensors.room import RoomDescription, RoomElement, RoomSection
from sensors.sim.rooms import generate_world
from sensors.sim.world import SimWorld
from spatial.eval import rooms as metrics
from spatial.rooms import merge

OPENINGS = ("door", "window", "opening")


def turned(e: RoomElement) -> RoomElement:
    """``e`` turned half a turn about the vertical through its centre (its normal reversed)."""
    T = np.diag([-1.0, -1.0, 1.0, 1.0])
    T[:2, 3] = 2 * e.center_m[:2]
    return e.transformed(T)


def along(e: RoomElement, axis: int, d: float) -> RoomElement:
    """``e`` moved by ``d`` metres along its own local ``axis`` (0: x, 1: y)."""
    T = e.T_world_element.copy()
    T[:3, 3] += T[:3, axis] * d
    return replace(e, T_world_element=T)


def inside(world: SimWorld, xy: np.ndarray) -> list[int]:
    """Indices of the world's rooms whose floor holds some of the (N, 2) points."""
    from spatial.scene.shapes import points_in_polygon

    return [k for k, poly in enumerate(world.floor_polygons) if points_in_polygon(xy, poly).any()]


def sides_seen(world: SimWorld, e: RoomElement, reach_m: float) -> dict[int, int]:
    """Room index → the side (+1: the element's +y, −1: its −y) from which that room sees ``e``."""
    T, w = e.T_world_element, e.dimensions_m[0]
    along_x = T[:2, 3] + np.outer(np.linspace(-0.4, 0.4, 9) * w, T[:2, 0])
    return {k: side for side in (1, -1) for k in inside(world, along_x + side * reach_m * T[:2, 1])}


def suffix(k: int) -> str:
    """What room k renames its elements with (room 0 keeps the true identifiers)."""
    return f"-{k}" if k else ""


def wall_as_seen(wall: RoomElement, side: int, k: int, faces: bool) -> RoomElement:
    """Room k's copy of ``wall`` seen from ``side``: turned round when seen from its back; with
    ``faces`` a depth-0 box on the face the room sees (RoomPlan style)."""
    copy = wall if side > 0 else turned(wall)
    if faces:
        width, depth, height = wall.dimensions_m
        copy = replace(along(copy, 1, depth / 2), dimensions_m=(width, 0.0, height))
    return replace(copy, identifier=wall.identifier + suffix(k))


def openings_as_seen(world: SimWorld, wall: RoomElement, side: int, k: int, faces: bool) -> list[RoomElement]:
    """Room k's copies of the openings in ``wall`` that it sees (on the face when ``faces``)."""
    out = []
    for e in world.room.elements:
        if e.category in OPENINGS and e.parent == wall.identifier and k in sides_seen(world, e, 0.3):
            e = along(e, 1, side * wall.dimensions_m[1] / 2) if faces else e
            out.append(replace(e, identifier=e.identifier + suffix(k), parent=wall.identifier + suffix(k)))
    return out


def split(world: SimWorld, faces: bool = False) -> list[RoomDescription]:
    """The world's rooms as separate scans, each with the walls it sees, their openings, its
    floor and its objects (score 0.8), a section and a warning."""
    scans = [RoomDescription([], f"room{k}", [RoomSection("unidentified", (0.0, 0.0, 0.0))], [f"warning {k}"])
             for k in range(len(world.floor_polygons))]
    for wall in world.room.of("wall"):
        for k, side in sides_seen(world, wall, wall.dimensions_m[1] / 2 + 0.05).items():
            scans[k].elements.append(wall_as_seen(wall, side, k, faces))
            scans[k].elements += openings_as_seen(world, wall, side, k, faces)
    for e in world.room.elements:
        if e.category == "floor" or e.is_object:
            (k,) = inside(world, e.center_m[None, :2])
            scans[k].elements.append(replace(e, score=0.8) if e.is_object else e)
    return scans


@pytest.fixture(scope="module")
def apartment() -> SimWorld:
    return generate_world("apartment", 0)


@pytest.mark.parametrize("faces", [False, True], ids=["slabs", "faces"])
def test_an_apartment_split_into_its_rooms_merges_back(apartment, faces):
    truth = apartment.room
    scans = split(apartment, faces)
    assert len(scans) == 2 and all(0 < len(s.of("wall")) < len(truth.of("wall")) + 1 for s in scans)
    n_copies = sum(len(s.of("wall")) for s in scans)
    assert n_copies > len(truth.of("wall"))  # the partition and the long walls are in both
    m = merge(scans)
    assert len(m.of("wall")) == len(truth.of("wall"))
    first_seen = {w.identifier for w in scans[0].of("wall")}
    first_seen |= {w.identifier for w in scans[1].of("wall") if w.identifier[:-2] not in first_seen}
    assert {w.identifier for w in m.of("wall")} == first_seen  # equal lengths: the first room's copy
    if faces:
        partition = next(w for w in truth.of("wall") if w.dimensions_m[0] < 4 and 1 < w.center_m[0] < 7)
        (merged,) = [w for w in m.of("wall") if w.identifier == partition.identifier]
        assert merged.dimensions_m[1] == pytest.approx(partition.dimensions_m[1])
        assert np.allclose(merged.center_m, partition.center_m)
    else:
        assert metrics.evaluate(m, truth).walls.mean_endpoint_error_m == pytest.approx(0.0, abs=1e-9)
    s = metrics.evaluate(m, truth)
    assert s.walls.f1 == 1 and s.openings.overall.f1 == 1 and s.objects_50.overall.f1 == 1
    walls = {w.identifier for w in m.of("wall")}
    assert all(e.parent in walls for e in m.elements if e.category in OPENINGS)
    assert len(m.of("floor")) == 2 and len(m.sections) == 2
    assert m.identifier == "room0+room1" and m.warnings == ["warning 0", "warning 1"]


def test_the_same_walls_seen_twice_become_one_each_spanning_both():
    room = generate_world("studio", 1).room
    walls = room.of("wall")
    halves = [replace(along(w, 0, w.dimensions_m[0] / 4), identifier=w.identifier + "-half",
                      dimensions_m=(w.dimensions_m[0] / 2, *w.dimensions_m[1:])) for w in walls]
    ends = [along(h, 1, 0.04) for h in halves]  # the half at the far end, seen 4 cm off
    first = [replace(along(w, 0, 0.05 - w.dimensions_m[0] / 4), dimensions_m=(w.dimensions_m[0] / 2 + 0.1,
                                                                              *w.dimensions_m[1:])) for w in walls]
    m = merge([RoomDescription(first, "a"), RoomDescription(ends, "b")])
    assert len(m.of("wall")) == len(walls)
    assert {w.identifier for w in m.of("wall")} == {w.identifier for w in walls}  # the longer ones
    s = metrics.wall_f1(m, room)
    assert s.f1 == 1 and s.mean_endpoint_error_m < 0.01
    apart = [along(h, 1, 0.12) for h in halves]  # 12 cm off: another wall
    assert len(merge([RoomDescription(first), RoomDescription(apart)]).of("wall")) == 2 * len(walls)


def test_walls_that_only_look_alike_stay_apart():
    wall = RoomElement("W", "wall", (2.0, 0.1, 2.5), np.eye(4))  # faces +y; its face at y = 0.05
    beyond = replace(along(wall, 0, 2.05), identifier="next")  # in line, 5 cm past the end
    T = wall.T_world_element.copy()
    T[2, 3] += 2.6
    above = replace(wall, identifier="above", T_world_element=T)  # the story above
    far = replace(along(turned(wall), 1, 0.35), identifier="far")  # back to back: faces at 0.05 and −0.40
    facing = replace(along(turned(wall), 1, -2.0), identifier="facing")  # across a room, facing it
    tilted = replace(wall, identifier="tilted", T_world_element=wall.T_world_element @ np.array(
        [[1, 0, 0, 0], [0, np.cos(0.1), -np.sin(0.1), 0], [0, np.sin(0.1), np.cos(0.1), 0], [0, 0, 0, 1]]))
    for other in (beyond, above, far, facing, tilted):
        assert len(merge([RoomDescription([wall]), RoomDescription([other])]).of("wall")) == 2, other.identifier
    near = replace(along(turned(wall), 1, 0.10), identifier="near")  # back to back: faces at 0.05 and −0.15
    (joined,) = merge([RoomDescription([wall]), RoomDescription([near])]).of("wall")
    assert joined.dimensions_m[1] == pytest.approx(0.20) and joined.identifier == "W"
    assert np.allclose(joined.center_m, [0.0, -0.05, 0.0]) and np.allclose(joined.T_world_element[:3, 1], [0, 1, 0])


def test_openings_follow_their_wall_and_are_kept_once():
    wall = RoomElement("W", "wall", (3.0, 0.1, 2.5), np.eye(4))  # faces +y; its face at y = 0.05
    other = replace(along(turned(wall), 1, 0.10), identifier="B")  # the partition's other face, at y = −0.15
    door = RoomElement("d", "opening", (0.9, 0.0, 2.0), np.eye(4), parent="W", score=0.7)
    seen_again = replace(along(turned(door), 1, 0.10), identifier="d-b", parent="B", score=0.6)  # at y = −0.10
    window = replace(seen_again, identifier="w-b", category="window")  # same place, another category
    elsewhere = replace(along(seen_again, 0, 1.0), identifier="e-b")  # 1 m along the wall
    m = merge([RoomDescription([wall, door]), RoomDescription([other, seen_again, window, elsewhere])])
    assert [e.identifier for e in m.elements if e.category in OPENINGS] == ["d", "w-b", "e-b"]
    assert all(e.parent == "W" for e in m.elements if e.category in OPENINGS)
    assert np.allclose([e.center_m[1] for e in m.elements if e.category in OPENINGS], -0.05)  # on the mid-plane


@pytest.mark.parametrize("preset", ["studio", "kitchen", "bedroom", "apartment"])
def test_one_room_merged_alone_is_unchanged(preset):
    room = generate_world(preset, 4).room
    m = merge([room])
    assert [e.identifier for e in m.of("wall")] == [e.identifier for e in room.of("wall")]
    assert all(a is b for a, b in zip(m.of("wall"), room.of("wall")))  # not even rebuilt
    assert sorted(e.identifier for e in m.elements) == sorted(e.identifier for e in room.elements)
    twice = merge([room, room])  # the same scan twice: everything but the floors once
    counts = {c: len(twice.of(c)) for c in ("wall", *OPENINGS)} | {"objects": len(twice.objects)}
    assert counts == {c: len(room.of(c)) for c in ("wall", *OPENINGS)} | {"objects": len(room.objects)}
    assert metrics.evaluate(twice, room).walls.f1 == 1 and len(twice.of("floor")) == 2 * len(room.of("floor"))


def test_duplicate_objects_keep_the_better_and_other_categories_stay():
    room = generate_world("bedroom", 2).room
    objects = room.objects
    seen_again = [replace(along(e, 0, 0.03), identifier=e.identifier + "-b", score=0.9) for e in objects[:2]]
    first = [replace(e, score=0.5) for e in objects]
    other_kind = replace(objects[2], identifier="other", category="sofa" if objects[2].category != "sofa" else "bed")
    m = merge([RoomDescription(first), RoomDescription([*seen_again, other_kind])])
    ids = [e.identifier for e in m.objects]
    assert len(ids) == len(objects) + 1 and "other" in ids
    assert {e.identifier + "-b" for e in objects[:2]} <= set(ids)  # the higher score won
    assert ids[: len(objects) - 2] == [e.identifier for e in objects[2:]]  # input order kept


def test_nothing_to_merge():
    m = merge([])
    assert m.elements == [] and m.identifier == "" and m.sections == [] and m.warnings == []
    assert merge([RoomDescription()], "home").identifier == "home"
