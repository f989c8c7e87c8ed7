"""Fuzz cases for the grounding layer's inputs and ``spatial query``: mutated query files, room
descriptions and scene folders, and hostile query texts. Every case ends in hits, an empty
result, or a SpatialError that names the file — never another exception — and the inputs are
left as they were."""

from __future__ import annotations

import hashlib
import json
import shutil

import grounding_room
import numpy as np
import pytest
from typer.testing import CliRunner

from spatial.cli import app
from spatial.grounding import build_graph

RUN = CliRunner()


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return grounding_room.room_scene().save(tmp_path_factory.mktemp("fuzz_grounding") / "scene")


@pytest.fixture(scope="module")
def graph():
    room, cloud = grounding_room.room_and_cloud()
    return build_graph(room, geometry=cloud)


def digest(folder) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_hostile_query_texts_give_hits_or_nothing(graph):
    rng = np.random.default_rng(0)
    words = ["the", "a", "chair", "red", "nearest", "between", "and", "of", "under", "door", "window", "left", "it", "is", ".", ",", "to", "sit"]
    texts = ["between", "between and", "the chair between", "nearest", "left of", "it is. it is.", "....", "a" * 5000,
             "chair " * 400, "the chair nearest the nearest the door", "\x00chair\u202e", "🪑 chair", "CHAIR!!!",
             "the the the", "red", "between the chair and", "the chair between the door and the door"]
    texts += [" ".join(rng.choice(words, int(rng.integers(1, 12)))) for _ in range(60)]
    for t in texts:
        hits = graph.query(t, top_k=3)
        assert isinstance(hits, list) and len(hits) <= 3
        for h in hits:
            assert 0.0 <= h.score <= 1.0 and np.isfinite(h.score)


def test_mutated_query_files_and_scene_folders(scene_dir, tmp_path):
    cases = {"not utf-8": b"\xff\xfe\x00\x01", "only comments": b"# nothing\n\n", "empty": b"",
             "binary": bytes(range(256)), "crlf": b"the red chair\r\nthe sofa\r\n"}
    before = digest(scene_dir)
    for name, blob in cases.items():
        q = tmp_path / f"{name.replace(' ', '_')}.txt"
        q.write_bytes(blob)
        r = RUN.invoke(app, ["query", str(scene_dir), "--queries", str(q), "--json"])
        if name == "crlf":
            assert r.exit_code == 0 and len(json.loads(r.stdout)) == 2, r.output
        else:
            assert r.exit_code == 2 and str(q) in r.output, (name, r.output)
    assert digest(scene_dir) == before
    # a scene folder with broken parts: a named error, never a traceback
    for name, mutate in {
        "room.json truncated": lambda d: (d / "room.json").write_text((d / "room.json").read_text()[:200]),
        "room.json wrong category": lambda d: (d / "room.json").write_text((d / "room.json").read_text().replace('"chair"', '"throne"')),
        "cloud points missing": lambda d: (d / "cloud_points.npy").unlink(),
        "scene.json not json": lambda d: (d / "scene.json").write_text("{"),
        "cloud colours wrong shape": lambda d: np.save(d / "cloud_colors.npy", np.zeros((3, 2), np.uint8)),
    }.items():
        d = tmp_path / name.replace(" ", "_")
        shutil.copytree(scene_dir, d)
        mutate(d)
        snapshot = digest(d)
        r = RUN.invoke(app, ["query", str(d), "the red chair"])
        assert r.exit_code == 2, (name, r.output)
        assert str(d) in r.output and "Traceback" not in r.output, (name, r.output)
        assert digest(d) == snapshot, f"{name}: the input was modified"


def test_rooms_output_folder_with_a_broken_room(tmp_path):
    room, _ = grounding_room.room_and_cloud()
    out = tmp_path / "rooms_out"
    out.mkdir()
    room.save_json(out / "room.json")
    (out / "config.json").write_text("not json")  # the input cannot be found: no colours, still answers
    r = RUN.invoke(app, ["query", str(out), "the sofa", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["hits"][0]["identifier"] == "sofa-1"
    (out / "room.json").write_bytes(b"\x00\x01")
    r = RUN.invoke(app, ["query", str(out), "the sofa"])
    assert r.exit_code == 2 and "room.json" in r.output
