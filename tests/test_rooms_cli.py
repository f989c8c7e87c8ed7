"""``spatial rooms``: a capture (tracked and reconstructed first), a scene folder, a point cloud."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sensors.room import RoomDescription
from sensors.sim import SimConfig, plan, simulate
from spatial.cli import app
from spatial.rooms.train_classifier import synthetic_scan
from spatial.scene import Scene
from spatial.scene.geometry import PointCloud

RUN = CliRunner()
OUTPUTS = ("room.json", "room.usdz", "floorplan.svg", "floorplan.png", "config.json")


@pytest.fixture(scope="module")
def capture_path(tmp_path_factory):
    """A short simulated studio scan (320x240, 6 s)."""
    path = tmp_path_factory.mktemp("sim") / "studio.mcap"
    simulate(SimConfig.create(preset="studio", seed=0, duration_s=6, width=320, height=240, focal_px=262.5), path)
    return path


def test_rooms_on_a_capture_reconstructs_then_writes_everything(capture_path, tmp_path):
    out = tmp_path / "room"
    r = RUN.invoke(app, ["rooms", str(capture_path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    for name in (*OUTPUTS, "scene/scene.json"):
        assert (out / name).is_file(), name
    room = RoomDescription.load_json(out / "room.json")
    scene = Scene.load(out / "scene")
    assert scene.room is not None and len(scene.room.elements) == len(room.elements)
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["up"] == "auto" and config["room"]["walls"] == len(room.of("wall"))
    assert "walls" in r.output and "wrote" in r.output
    # the saved scene is an input too, and gives the same room
    again = tmp_path / "again"
    r = RUN.invoke(app, ["rooms", str(out / "scene"), "--out", str(again)])
    assert r.exit_code == 0, r.output
    assert not (again / "scene").exists()
    assert json.loads((again / "room.json").read_text()) == json.loads((out / "room.json").read_text())


def test_rooms_on_a_point_cloud_with_options(tmp_path):
    world, traj = plan(SimConfig.create(preset="bedroom", seed=2))
    s, _ = synthetic_scan(world, traj, np.random.default_rng(0), 20)
    cloud = tmp_path / "bedroom.ply"
    PointCloud(s.xyz, s.normals, s.colors).save_ply(cloud)
    out = tmp_path / "out"
    r = RUN.invoke(app, ["rooms", str(cloud), "--out", str(out), "--up", "z", "--set", "classifier=geometric",
                         "--set", "objects=false"])
    assert r.exit_code == 0, r.output
    room = RoomDescription.load_json(out / "room.json")
    assert len(room.of("wall")) == 4 and not room.objects
    assert json.loads((out / "config.json").read_text())["options"]["classifier"] == "geometric"
    svg = (out / "floorplan.svg").read_text()
    assert svg.count('class="wall"') == 4
