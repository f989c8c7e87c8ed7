from __future__ import annotations

import numpy as np
import pytest
import trimesh

from sensors.errors import ConfigError, EmptySessionError
from sensors.types import CameraIntrinsics
from spatial.eval.reconstruction import reconstruction_metrics, sample_surface, visible_mask
from spatial.scene import Mesh, PointCloud


def box(size=(1.0, 1.0, 1.0), shift=(0.0, 0.0, 0.0)) -> Mesh:
    m = trimesh.creation.box(extents=size)
    return Mesh(m.vertices + np.asarray(shift), m.faces)


def quad(z: float, half: float = 1.0) -> Mesh:
    v = [[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]]
    return Mesh(v, [[0, 1, 2], [0, 2, 3]])


def test_samples_are_uniform_over_the_area():
    pts = sample_surface(box((2.0, 1.0, 1.0)), 60_000, seed=3)
    assert pts.shape == (60_000, 3)
    # the two 1x1 end faces (x = ±1) hold 2 of the 10 m² of surface
    on_ends = np.isclose(np.abs(pts[:, 0]), 1.0, atol=1e-9)
    assert abs(on_ends.mean() - 0.2) < 0.01
    assert np.all(np.abs(pts) <= [1.0 + 1e-9, 0.5 + 1e-9, 0.5 + 1e-9])
    np.testing.assert_array_equal(pts, sample_surface(box((2.0, 1.0, 1.0)), 60_000, seed=3))
    cloud = PointCloud(pts)
    assert len(sample_surface(cloud, 1000, seed=0)) == 1000 and len(sample_surface(cloud, 10**6)) == 60_000


def test_identical_surfaces_score_perfectly():
    m = reconstruction_metrics(box(), box(), samples=50_000)
    assert m.fscore == (1.0, 1.0, 1.0) or min(m.fscore) > 0.99
    assert m.accuracy_m < 0.003 and m.completeness_m < 0.003


def test_unit_cube_against_itself_shifted_by_3cm():
    # shifted along (1, 1, 1): every face lies 3 / sqrt(3) = 1.73 cm from its twin
    shift = 0.03 * np.ones(3) / np.sqrt(3)
    m = reconstruction_metrics(box(shift=shift), box(), samples=50_000, seed=1)
    p1, r1, f1 = m.at(0.01)
    assert f1 < 0.1 and p1 < 0.1 and r1 < 0.1
    assert m.at(0.02)[2] > 0.97
    assert m.at(0.05) == (1.0, 1.0, 1.0)
    assert abs(m.accuracy_m - 0.0173) < 0.001 and abs(m.completeness_m - 0.0173) < 0.001
    # shifted along x: the four faces parallel to x still coincide, the two others are 3 cm off
    mx = reconstruction_metrics(box(shift=(0.03, 0, 0)), box(), samples=50_000)
    assert abs(mx.at(0.01)[0] - 4 / 6) < 0.02 and mx.at(0.05)[2] == 1.0
    assert abs(mx.accuracy_m - 0.03 * 2 / 6) < 0.002
    d = mx.to_dict()
    assert d["fscore_5cm"] == 1.0 and "precision_1cm" in d and d["samples_pred"] == 50_000


def test_precision_and_recall_are_not_symmetric():
    # the prediction covers half the reference: perfect precision, half the recall
    ref = quad(0.0, 1.0)
    half = Mesh([[-1, -1, 0], [0, -1, 0], [0, 1, 0], [-1, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    p, r, f = reconstruction_metrics(half, ref, samples=40_000).at(0.05)
    assert p == 1.0 and abs(r - 0.525) < 0.02 and abs(f - 2 * r / (1 + r)) < 1e-9


def test_metrics_are_deterministic_by_seed():
    a = reconstruction_metrics(box(shift=(0.01, 0, 0)), box(), samples=5_000, seed=7)
    b = reconstruction_metrics(box(shift=(0.01, 0, 0)), box(), samples=5_000, seed=7)
    c = reconstruction_metrics(box(shift=(0.01, 0, 0)), box(), samples=5_000, seed=8)
    assert a == b and a != c


def test_visible_mask_hides_what_is_behind_a_wall():
    front, back = quad(2.0, 0.5), quad(3.0, 0.5)
    both = Mesh(np.vstack([front.vertices, back.vertices]), np.vstack([front.triangles, back.triangles + 4]))
    K = CameraIntrinsics(300.0, 300.0, 159.5, 119.5, 320, 240)
    pts = np.vstack([sample_surface(front, 500), sample_surface(back, 500), [[0.0, 0.0, 9.0], [0.0, 0.0, -1.0]]])
    seen = visible_mask(pts, both, np.eye(4)[None], K, depth_max_m=5.0)
    assert seen[:500].all() and not seen[500:1000].any()
    assert not seen[1000] and not seen[1001]  # beyond the depth range, behind the camera


def test_bad_inputs():
    with pytest.raises(EmptySessionError, match="empty surfaces"):
        reconstruction_metrics(Mesh.empty(), box())
    with pytest.raises(ConfigError, match="positive thresholds"):
        reconstruction_metrics(box(), box(), thresholds_m=(0.0,))
    with pytest.raises(ConfigError, match="reference_mask"):
        reconstruction_metrics(box(), box(), samples=100, reference_mask=np.ones(3, bool))
    with pytest.raises(ConfigError, match="was not evaluated"):
        reconstruction_metrics(box(), box(), samples=100).at(0.03)
