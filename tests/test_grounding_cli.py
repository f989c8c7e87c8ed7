"""``spatial query`` on a saved scene, a ``spatial rooms`` output and a point cloud."""

from __future__ import annotations

import json

import grounding_room
import numpy as np
import pytest
from typer.testing import CliRunner

from spatial.cli import app

RUN = CliRunner()


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return grounding_room.room_scene().save(tmp_path_factory.mktemp("grounding") / "scene")


def test_query_json_lists_hits_with_boxes(scene_dir, tmp_path):
    qfile = tmp_path / "queries.txt"
    qfile.write_text("# one a line\nthe couch\n\nthe bin under the window\n")
    r = RUN.invoke(app, ["query", str(scene_dir), "the red chair", "somewhere to sit", "--queries", str(qfile),
                         "--top", "2", "--json", "--graph", str(tmp_path / "graph.json")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [d["query"] for d in doc] == ["the red chair", "somewhere to sit", "the couch", "the bin under the window"]
    assert [d["hits"][0]["identifier"] for d in doc] == ["chair-red", doc[1]["hits"][0]["identifier"], "sofa-1", "bin-1"]
    assert len(doc[1]["hits"]) == 2
    hit = doc[0]["hits"][0]
    assert hit["category"] == "chair" and np.allclose(hit["center_m"], [1.6, 1.0, 0.45])
    assert np.array(hit["transform"]).shape == (4, 4) and hit["dimensions_m"] == [0.5, 0.5, 0.9]
    graph = json.loads((tmp_path / "graph.json").read_text())
    assert {n["identifier"] for n in graph["nodes"]} >= {"chair-red", "door-1"} and graph["edges"]


def test_query_table_output_and_a_query_naming_nothing(scene_dir):
    r = RUN.invoke(app, ["query", str(scene_dir), "the chair nearest the door", "a bathtub"])
    assert r.exit_code == 0, r.output
    assert "chair-red" not in r.stdout  # the table shows short names
    assert "chair_2" in r.stdout and "nothing in" in r.stdout and "ms per query" in r.stdout


def test_query_on_a_cloud_file(tmp_path):
    from spatial.scene.geometry import PointCloud

    _, cloud = grounding_room.room_and_cloud()
    path = tmp_path / "room.ply"
    PointCloud(cloud.points, colors=cloud.colors).save_ply(path)
    r = RUN.invoke(app, ["query", str(path), "a wall", "--up", "z", "--json"])  # room understanding runs first
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["hits"][0]["category"] == "wall"


@pytest.mark.parametrize("args, message", [
    ([], "no query given"),
    (["  "], "query is empty"),
    (["chair", "--text-model", "bogus"], "unknown text model"),
    (["chair", "--image-model", "clip"], "image"),
])
def test_query_bad_arguments(scene_dir, args, message):
    r = RUN.invoke(app, ["query", str(scene_dir), *args])
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_query_bad_inputs(tmp_path):
    r = RUN.invoke(app, ["query", str(tmp_path / "missing"), "chair"])
    assert r.exit_code == 2 and "missing" in r.output
    bad = tmp_path / "q.txt"
    bad.write_bytes(b"\xff\xfe\x00chair")
    r = RUN.invoke(app, ["query", str(tmp_path), "--queries", str(bad)])
    assert r.exit_code == 2 and "q.txt" in r.output and "UTF-8" in r.output
