"""spatial.rooms.merge: several scans of one home into one structure."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sensors.room import RoomDescription, RoomElement
from sensors.sim.rooms import generate_world
from spatial.eval import rooms as metrics
from spatial.rooms import merge


def shifted(e: RoomElement, d: float) -> RoomElement:
    T = e.T_world_element.copy()
    T[:3, 3] += T[:3, 1] * d
    return replace(e, T_world_element=T)


def face(wall: RoomElement, side: int, ident: str) -> RoomElement:
    """A 2 cm slab whose inner face is ``wall``'s face on ``side`` (+1: its room side, −1: the other),
    facing away from the wall."""
    T = wall.T_world_element.copy()
    y = T[:3, 1] * side
    T[:3, 0] *= side
    T[:3, 1] = y
    T[:3, 3] = wall.center_m + y * (wall.dimensions_m[1] / 2 - 0.01)
    return RoomElement(ident, "wall", (wall.dimensions_m[0], 0.02, wall.dimensions_m[2]), T)


def test_the_same_walls_seen_twice_merge_into_one_each():
    room = generate_world("studio", 1).room
    a = RoomDescription(room.of("wall") + room.objects, "A")
    b = RoomDescription([replace(shifted(w, 0.03), identifier=w.identifier + "-b") for w in room.of("wall")]
                        + room.objects[:3], "B", warnings=["b was short"])
    m = merge([a, b])
    assert len(m.of("wall")) == len(room.of("wall"))
    assert metrics.wall_f1(m, room).f1 == 1
    assert len(m.objects) == len(room.objects)  # the three seen twice are kept once
    assert m.identifier == "A+B" and m.warnings == ["b was short"]


def test_two_sides_of_a_partition_become_one_wall_and_openings_follow():
    world = generate_world("apartment", 0)
    partition = next(w for w in world.room.of("wall") if any(e.parent == w.identifier for e in world.room.of("opening")))
    opening = next(e for e in world.room.of("opening") if e.parent == partition.identifier)
    living = RoomDescription([face(partition, +1, "P-living")], "living")
    bath = RoomDescription([face(partition, -1, "P-bath"), replace(opening, parent="P-bath")], "bath")
    m = merge([living, bath])
    (wall,) = m.of("wall")
    assert wall.dimensions_m[1] == pytest.approx(partition.dimensions_m[1] - 0.0, abs=1e-6)
    assert np.allclose(wall.center_m, partition.center_m, atol=1e-6)
    assert m.of("opening")[0].parent == wall.identifier
    assert metrics.wall_f1(m, RoomDescription([partition])).f1 == 1


def test_distinct_walls_and_empty_input_stay_apart():
    room = generate_world("kitchen", 3).room
    assert len(merge([room]).of("wall")) == len(room.of("wall"))  # an L-shaped room's walls do not merge
    assert merge([]).elements == []
