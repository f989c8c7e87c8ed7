from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import sensors
import spatial
from sensors.convert import convert, output_format
from sensors.errors import ConfigError
from spatial.cli import app

runner = CliRunner()
pytestmark = pytest.mark.shared_data


@pytest.fixture
def kitchen(shared_data):
    return shared_data / "7scenes"


@pytest.fixture
def kitchen8(kitchen, tmp_path):
    """The first eight real 7-Scenes frames, linked (not copied) into a scratch folder."""
    seq = tmp_path / "seq-01"
    seq.mkdir()
    for f in [kitchen / "camera-intrinsics.txt", *(kitchen.glob("frame-00000[0-7].*"))]:
        (seq / f.name).symlink_to(f)
    return seq


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # exited on purpose, nothing escaped


def test_version_and_help():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"spatial {spatial.__version__}"
    for command in ("info", "convert", "replay"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert f"spatial {command} " in result.stdout  # the examples in the epilog


def test_info_text(kitchen):
    result = invoke("info", kitchen, "--format", "7scenes")
    assert result.exit_code == 0, result.output
    rgbd = next(line for line in result.stdout.splitlines() if "rgbd" in line)
    assert "300" in rgbd and "30.00" in rgbd and "9.97" in rgbd
    assert "640x480 fx=585.00" in result.stdout
    assert "300 poses (camera)" in result.stdout


def test_info_json(kitchen):
    result = invoke("info", kitchen, "--format", "7scenes", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["format"] == "7scenes"
    assert d["streams"]["rgbd"]["count"] == 300
    assert d["streams"]["rgbd"]["rate_hz"] == pytest.approx(30.0, abs=1e-3)
    assert d["streams"]["rgbd"]["dropped"] == 0
    assert d["calibration"]["color"]["fx"] == 585.0
    assert d["ground_truth"] == {"poses": 300, "body": "camera"}


def test_missing_path_is_a_clean_user_error(tmp_path):
    missing = tmp_path / "nowhere"
    assert_user_error(invoke("info", missing), str(missing), "no such file or directory")
    assert_user_error(invoke("replay", missing, "--max-frames", "2"), str(missing))


def test_unknown_format_name(kitchen):
    assert_user_error(invoke("info", kitchen, "--format", "nope"), "no reader named 'nope'")


def test_console_script_exit_code_without_traceback(tmp_path):
    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [sys.executable, "-m", "spatial.cli", "info", str(missing)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {missing}: no such file or directory"
    assert proc.stdout == ""


def test_convert_rejects_unknown_output_before_reading(kitchen8, tmp_path):
    assert_user_error(invoke("convert", kitchen8, tmp_path / "out.avi"), "out.avi", "'.avi'")
    assert_user_error(invoke("convert", kitchen8, tmp_path / "out_dir"), "out_dir", "folder")
    assert_user_error(invoke("convert", kitchen8, tmp_path / "x", "--to", "ply"), "unknown output format 'ply'")
    assert_user_error(invoke("convert", kitchen8, kitchen8, "--to", "tum", "--format", "7scenes"), "input capture")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq-01"]


def _same_frames(a_path, b_path, b_format) -> None:
    with sensors.open(a_path, format="7scenes") as a, sensors.open(b_path, format=b_format) as b:
        assert b.num_frames == a.num_frames == 8
        np.testing.assert_array_equal(a.timestamps()["rgbd"], b.timestamps()["rgbd"])
        fa, fb = next(a.frames(readahead=0)), next(b.frames(readahead=0))
        np.testing.assert_array_equal(fa.color, fb.color)
        np.testing.assert_allclose(fa.depth_m, fb.depth_m, atol=1e-3)


def test_convert_to_tum(kitchen8, tmp_path):
    out = tmp_path / "kitchen_tum"
    result = invoke("convert", kitchen8, out, "--to", "tum", "--format", "7scenes")
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (8 frames, 0 IMU samples)" in result.stdout
    assert "converting" in result.stderr  # the progress bar, on stderr
    _same_frames(kitchen8, out, "tum")


@pytest.mark.skipif(importlib.util.find_spec("sensors.formats.mcap") is None, reason="MCAP writer not present yet")
def test_convert_to_mcap(kitchen8, tmp_path):
    out = tmp_path / "kitchen.mcap"
    result = invoke("convert", kitchen8, out, "--format", "7scenes")
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (8 frames" in result.stdout
    _same_frames(kitchen8, out, "mcap")
    info = invoke("info", out)  # detected by suffix/magic
    assert info.exit_code == 0 and "mcap" in info.stdout


@pytest.mark.skipif(importlib.util.find_spec("sensors.formats.mcap") is None, reason="MCAP writer not present yet")
def test_convert_api_dispatches_on_suffix_and_reports_progress(kitchen8, tmp_path):
    calls = []
    with sensors.open(kitchen8, format="7scenes") as session:
        out = convert(session, tmp_path / "k.MCAP", progress=calls.append)
    assert out == tmp_path / "k.MCAP" and sum(calls) == 8
    assert sensors.formats.detect(out) == "mcap"
    with pytest.raises(ConfigError) as info:
        output_format(tmp_path / "k.ply")
    assert info.value.path == tmp_path / "k.ply" and "'.ply'" in str(info.value)


def test_replay_counts_frames(kitchen):
    result = invoke("replay", kitchen, "--format", "7scenes", "--max-frames", "6", "--every", "4")
    assert result.exit_code == 0, result.output
    assert "replayed 6 frames in" in result.stdout


def test_replay_contact_sheet(kitchen8, tmp_path):
    import cv2

    sheet = tmp_path / "sheet.png"
    result = invoke("replay", kitchen8, "--sheet", sheet)
    assert result.exit_code == 0, result.output
    assert f"contact sheet {sheet}" in result.stdout
    img = cv2.imread(str(sheet))
    assert img.shape == (2 * 480, 4 * 320, 3)  # 8 frames: 2 rows of (colour over depth) tiles, 320 px wide
    assert img.std() > 20


def test_replay_realtime_is_paced(kitchen8):
    result = invoke("replay", kitchen8, "--format", "7scenes", "--speed", "0.5")  # 0.233 s of capture at half speed
    assert result.exit_code == 0, result.output
    seconds = float(result.stdout.split(" in ")[1].split(" s ")[0])
    assert seconds >= 0.45


def test_replay_rrd(kitchen, tmp_path):
    rr = pytest.importorskip("rerun")
    rrd = tmp_path / "kitchen.rrd"
    result = invoke("replay", kitchen, "--format", "7scenes", "--rrd", rrd, "--max-frames", "3", "--every", "10")
    assert result.exit_code == 0, result.output
    assert f"logged 3 frames to {rrd} in" in result.stdout
    assert rrd.stat().st_size > 0
    assert rrd.read_bytes()[:4] == b"RRF2"
    rows = {}
    for chunk in rr.chunk.RrdReader(rrd).store().stream():
        rows[chunk.entity_path] = rows.get(chunk.entity_path, 0) + chunk.num_rows
    assert rows["/world/camera/color/image"] == rows["/world/camera/depth/image"] == rows["/world/camera"] == 3


def test_replay_rrd_without_rerun_names_the_extra(kitchen8, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "rerun", None)
    rrd = tmp_path / "out.rrd"
    result = invoke("replay", kitchen8, "--format", "7scenes", "--rrd", rrd)
    assert result.exit_code == 2
    assert "pip install 'spatial-sdk[viz]'" in result.stderr  # brackets survive rich markup
    assert "Traceback" not in result.output and not rrd.exists()
