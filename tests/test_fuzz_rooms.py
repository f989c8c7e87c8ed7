"""Fuzz cases for room capture's readers, the room writers and ``spatial rooms``: every mutated
input either gives a valid room or a SpatialError that names the file — never another exception,
never a hang — and the input file is left as it was."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sensors.errors import SpatialError
from sensors.room import RoomDescription
from sensors.sim.rooms import generate_world
from spatial.cli import app
from spatial.rooms import RoomOptions, capture
from spatial.scene.geometry import Mesh

RUN = CliRunner()


@pytest.fixture(scope="module")
def mesh_ply(tmp_path_factory):
    """The simulated bedroom's true mesh as a binary PLY (a complete, small room)."""
    world = generate_world("bedroom", 5)
    V, F, _ = world.mesh_arrays()
    path = tmp_path_factory.mktemp("fuzz") / "room.ply"
    Mesh(V, F).save_ply(path)
    return path


def outcome(call, path) -> str:
    """'ok' for a room, 'named' for a SpatialError naming ``path``; anything else fails the test."""
    try:
        room = call()
    except SpatialError as exc:
        assert str(path) in str(exc), f"{type(exc).__name__} does not name {path}: {exc}"
        return "named"
    assert isinstance(room, RoomDescription)
    json.dumps(room.to_json())  # serialisable
    return "ok"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mutations(data: bytes, rng: np.random.Generator):
    header_end = data.index(b"end_header\n") + len(b"end_header\n")
    yield "empty", b""
    for frac in (0.05, 0.5, 0.99):
        yield f"truncated {frac}", data[: int(len(data) * frac)]
    yield "header only", data[:header_end]
    for k in range(3):
        b = bytearray(data)
        b[int(rng.integers(0, header_end))] ^= 0x20
        yield f"header bit flip {k}", bytes(b)
        b = bytearray(data)
        for i in rng.integers(header_end, len(data), 50):
            b[i] ^= 1 << int(rng.integers(0, 8))
        yield f"body bit flips {k}", bytes(b)
    yield "garbage", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    yield "vertex count too big", data.replace(b"element vertex ", b"element vertex 9", 1)
    yield "not utf-8 header", b"ply\nformat \xff\xfe ascii\n" + data[header_end:]


def test_mutated_meshes_give_a_room_or_a_named_error(mesh_ply, tmp_path):
    rng = np.random.default_rng(0)
    data = mesh_ply.read_bytes()
    seen = {}
    for name, blob in mutations(data, rng):
        path = tmp_path / "mutant.ply"
        path.write_bytes(blob)
        before = digest(path)
        seen[name] = outcome(lambda p=path: capture(p, RoomOptions(up="z")), path)
        assert digest(path) == before, f"{name}: the input was modified"
    assert seen["empty"] == "named" and seen["truncated 0.5"] == "named" and seen["garbage"] == "named"


def test_hostile_geometry_values(mesh_ply, tmp_path):
    m = Mesh.load(mesh_ply)
    cases = {
        "nan": np.where(np.arange(len(m.vertices))[:, None] == 7, np.nan, m.vertices),
        "huge": m.vertices * 1e30,
        "millimetres": m.vertices * 1000,
        "flat": m.vertices * np.array([1, 1, 0]),
        "one point": m.vertices[:3],
    }
    for name, V in cases.items():
        path = tmp_path / f"{name}.ply"
        tri = m.triangles if len(V) == len(m.vertices) else np.array([[0, 1, 2]])
        try:
            Mesh(V, tri).save_ply(path)
        except SpatialError:
            continue
        result = outcome(lambda p=path: capture(p), path)
        if name in ("nan", "huge", "millimetres"):
            assert result == "named", name
    (tmp_path / "dir.ply").mkdir()
    assert outcome(lambda: capture(tmp_path / "dir.ply"), tmp_path / "dir.ply") == "named"
    obj = tmp_path / "bad.obj"
    obj.write_bytes(b"v 0 0 0\nv 1 0 \xff\nf 1 2 3\n")
    outcome(lambda: capture(obj), obj)


def test_room_json_and_scene_folders(tmp_path):
    good = generate_world("studio", 3).room.save_json(tmp_path / "room.json")
    text = good.read_text()
    cases = {"truncated": text[: len(text) // 2], "not utf-8": "\xff\xfe", "walls not a list": '{"walls": 3}',
             "element not an object": '{"walls": [1]}', "bad transform": text.replace('"transform": [', '"transform": ["x", ', 1),
             "bad category": text.replace('"wall"', '"tower"', 1)}
    for name, blob in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(blob.encode("utf-8", "surrogateescape") if name != "not utf-8" else b"\xff\xfe{")
        assert outcome(lambda p=path: RoomDescription.load_json(p), path) == "named", name
    scene = tmp_path / "scene"
    scene.mkdir()
    (scene / "scene.json").write_text("{")
    assert outcome(lambda: capture(scene), scene / "scene.json") == "named"


def test_room_writers_refuse_unknown_formats_and_write_atomically(tmp_path):
    room = generate_world("kitchen", 2).room
    for suffix in (".usdz", ".usda", ".svg", ".png", ".json"):
        out = tmp_path / f"r{suffix}"
        (room.floorplan(out) if suffix in (".svg", ".png") else room.export(out))
        assert out.stat().st_size > 0
    for call, path in ((room.export, tmp_path / "r.fbx"), (room.floorplan, tmp_path / "r.pdf")):
        with pytest.raises(SpatialError) as e:
            call(path)
        assert str(path) in str(e.value)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_rooms_cli_bad_arguments_exit_2_with_a_message(mesh_ply, tmp_path):
    cases = [
        ["rooms", str(tmp_path / "missing.ply"), "--out", str(tmp_path / "o")],
        ["rooms", str(mesh_ply), "--out", str(tmp_path / "o"), "--up", "w"],
        ["rooms", str(mesh_ply), "--out", str(tmp_path / "o"), "--scale", "-1"],
        ["rooms", str(mesh_ply), "--out", str(tmp_path / "o"), "--set", "nonsense=1"],
        ["rooms", str(mesh_ply), "--out", str(tmp_path / "o"), "--set", "voxel_m"],
        ["rooms", str(mesh_ply), "--out", str(mesh_ply)],  # the output folder is a file
    ]
    for args in cases:
        r = RUN.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert "error:" in r.output and "Traceback" not in r.output, r.output
    out = tmp_path / "[odd]name"
    r = RUN.invoke(app, ["rooms", str(mesh_ply), "--out", str(out), "--up", "z"])
    assert r.exit_code == 0, r.output
    assert (out / "room.json").is_file()


def test_ground_truth_readers_name_the_file(tmp_path):
    from spatial.eval.scannet import read_scan2cad, read_vertex_labels

    header = (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
              b"property float z\nproperty ushort label\nend_header\n")
    body = np.array([(0, 0, 0, 1), (1, 0, 0, 2)], dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("l", "<u2")]).tobytes()
    good = tmp_path / "ok.labels.ply"
    good.write_bytes(header + body)
    xyz, labels = read_vertex_labels(good)
    assert labels.tolist() == [1, 2] and xyz.shape == (2, 3)
    cases = {"empty": b"", "truncated": header + body[:9], "no label": header.replace(b"ushort label", b"ushort other") + body,
             "ascii": header.replace(b"binary_little_endian", b"ascii") + body, "garbage": b"\x00\xff" * 50,
             "nan": header + np.array([(np.nan, 0, 0, 1)] * 2, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("l", "<u2")]).tobytes()}
    for name, blob in cases.items():
        path = tmp_path / f"{name}.labels.ply"
        path.write_bytes(blob)
        assert outcome(lambda p=path: (read_vertex_labels(p), RoomDescription())[1], path) == "named", name
    for name, text in {"not json": "{", "not a list of models": '[{"trs": 1}]', "empty": "",
                       "bad model": '[{"trs": {"translation": [0,0,0], "rotation": [1,0,0,0], "scale": [1,1,1]}, '
                                    '"aligned_models": [{"catid_cad": "03001627", "trs": 5}]}]'}.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        assert outcome(lambda p=path: (read_scan2cad(p), RoomDescription())[1], path) == "named", name
