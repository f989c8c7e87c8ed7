"""The grounding layer on the hand-built room of ``grounding_room`` whose answers are known."""

from __future__ import annotations

import json

import grounding_room
import numpy as np
import pytest
from grounding_room import BLACK, BLUE, GREY, RED, WHITE, WOOD

from sensors.errors import ConfigError
from sensors.room import RoomDescription
from spatial.grounding import GroundingOptions, build_graph, parse
from spatial.grounding.colors import dominant_colors
from spatial.scene.geometry import PointCloud


@pytest.fixture(scope="module")
def room_and_cloud():
    return grounding_room.room_and_cloud()


@pytest.fixture(scope="module")
def graph(room_and_cloud):
    room, cloud = room_and_cloud
    return build_graph(room, geometry=cloud)


def _top(graph, text: str) -> str:
    hits = graph.query(text, top_k=3)
    assert hits, f"no hit for {text!r}"
    return hits[0].element.label if hits[0].element.label == "wall fixture" else hits[0].identifier


def test_colour_names_of_plain_colours():
    names = [dominant_colors(np.array([c], np.uint8))[0][0] for c in (RED, BLUE, GREY, WOOD, WHITE, BLACK)]
    assert names == ["red", "blue", "grey", "brown", "white", "black"]


def test_parse_splits_target_attributes_and_relations():
    q = parse("This is a big red chair. It is next to the round table, closest to the door.")
    assert q.target.words == ["chair"] and q.target.colors == ["red"] and q.target.sizes == [("volume", True)]
    assert [(r.predicate, [a.text for a in r.anchors]) for r in q.relations] == [("next_to", ["table"]), ("nearest", ["door"])]
    assert q.relations[0].anchors[0].shape == "round"
    q = parse("the table between the red chair and the blue chair")
    assert [a.colors for a in q.relations[0].anchors] == [["red"], ["blue"]]
    assert parse("somewhere to sit").verbs == ["sit"]


def test_attributes_are_measured(graph):
    red = graph.node("chair-red").attributes
    assert red.colors[0][0] == "red" and red.colors[0][1] > 0.8
    assert graph.node("sofa-1").attributes.colors[0][0] == "grey"
    assert graph.node("table-1").attributes.footprint_shape == "round"
    assert graph.node("sofa-1").attributes.footprint_shape == "rectangular"
    assert abs(graph.node("table-1").attributes.top_m - 0.75) < 0.04


@pytest.mark.parametrize("query, expected", [
    ("the red chair", "chair-red"),
    ("the blue seat", "chair-blue"),
    ("the couch", "sofa-1"),
    ("the chair nearest the door", "chair-red"),
    ("the chair closest to the window", "chair-blue"),
    ("the round table", "table-1"),
    ("the table between the two chairs", "table-1"),
    ("the trash can", "bin-1"),
    ("the bin under the window", "bin-1"),
    ("the whiteboard", "wall fixture"),
    ("the chair on the left as seen from the entrance", "chair-red"),
    ("the chair to the right of the table", "chair-blue"),
    ("where can I sleep", "sofa-1"),
    ("the window", "window-1"),
    ("the way out", "door-1"),
    ("this is a chair. it is red. it is at the end of the table.", "chair-red"),
])
def test_queries_find_the_right_element(graph, query, expected):
    assert _top(graph, query) == expected


def test_affordance_ranks_every_seat(graph):
    ids = {h.identifier for h in graph.query("somewhere to sit", top_k=3)}
    assert ids == {"chair-red", "chair-blue", "sofa-1"}


def test_results_are_deterministic_and_typed(graph, room_and_cloud):
    room, cloud = room_and_cloud
    again = build_graph(room, geometry=cloud)
    a = [(h.identifier, h.score, h.reasons) for h in graph.query("a chair near the table", 5)]
    b = [(h.identifier, h.score, h.reasons) for h in again.query("a chair near the table", 5)]
    assert a == b
    d = graph.query("the sofa", 1)[0].to_dict()
    assert set(d) >= {"identifier", "category", "score", "reasons", "center_m", "dimensions_m", "transform"}
    assert np.allclose(np.array(d["transform"]), room.elements[[e.identifier for e in room.elements].index("sofa-1")].T_world_element)
    json.dumps(graph.to_json())


def test_text_form_names_elements_and_relations(graph):
    text = graph.to_text()
    assert "[chair_1]" in text and "[door_1]" in text and "red" in text
    assert "between [chair_" in text  # the table between the chairs
    assert "entrance [door_1]" in text


def test_bad_queries(graph):
    with pytest.raises(ConfigError, match="empty"):
        graph.query("   ")
    with pytest.raises(ConfigError, match="top_k"):
        graph.query("chair", top_k=0)
    assert graph.query("the spaceship") == [] or graph.query("the spaceship")[0].score < 0.3
    assert graph.query("the bathtub") == []


def test_lexicon_alone_without_text_model(room_and_cloud):
    room, cloud = room_and_cloud
    g = build_graph(room, geometry=cloud, options=GroundingOptions(text_model="none"))
    assert g.query("the couch")[0].identifier == "sofa-1"
    assert g.query("the spaceship") == []


def test_room_without_objects_and_tilted_room(room_and_cloud):
    room, cloud = room_and_cloud
    empty = RoomDescription([e for e in room.elements if not e.is_object])
    assert build_graph(empty).query("a chair") == []
    # the same room in a frame whose up is not z (a map without IMU): answers unchanged, in that frame
    from scipy.spatial.transform import Rotation

    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xy", [20, -10], degrees=True).as_matrix()
    g = build_graph(room.transformed(T), geometry=PointCloud(cloud.points @ T[:3, :3].T.astype(np.float32), colors=cloud.colors))
    hit = g.query("the chair nearest the door")[0]
    assert hit.identifier == "chair-red"
    assert np.allclose(hit.element.T_world_element, T @ room.elements[[e.identifier for e in room.elements].index("chair-red")].T_world_element)


def test_unknown_text_model_is_a_clear_error(room_and_cloud):
    room, cloud = room_and_cloud
    g = build_graph(room, geometry=cloud, options=GroundingOptions(text_model="nosuchmodel"))
    with pytest.raises(ConfigError, match="unknown text model"):
        g.query("a gizmo")


def test_scene_query_builds_the_graph_once(room_and_cloud):

    scene = grounding_room.room_scene()
    assert scene.query("the couch")[0].identifier == "sofa-1"
    assert scene.query("the red chair", top_k=1)[0].identifier == "chair-red"
    assert len([k for k in scene.cache if k[0] == "grounding_graph"]) == 1
