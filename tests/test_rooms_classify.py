"""Object classifier backends: registry, the shipped MLP's file format, the numpy trainer."""

from __future__ import annotations

import numpy as np
import pytest
from expect import raises_naming

from sensors.errors import ConfigError, FormatError
from sensors.room import OBJECT_CATEGORIES, UNCATEGORISED
from spatial.rooms import RoomOptions
from spatial.rooms.classify import (
    CLASSES,
    DEFAULT_MODEL,
    GeometricClassifier,
    MlpClassifier,
    ProductClassifier,
    available,
    get_classifier,
)
from spatial.rooms.features import NAMES
from spatial.rooms.train_classifier import train


def features(**values) -> np.ndarray:
    f = np.zeros(len(NAMES))
    for k, v in values.items():
        f[NAMES.index(k)] = v
    return f


def test_registry_names_the_backends():
    assert {"mlp", "geometric", "mlp+geometric"} <= set(available())
    assert isinstance(get_classifier(RoomOptions()), ProductClassifier)  # "default"
    assert isinstance(get_classifier(RoomOptions(classifier="mlp")), MlpClassifier)
    with pytest.raises(ConfigError, match="available: .*geometric"):
        get_classifier(RoomOptions(classifier="clip"))


def test_geometric_priors_tell_a_table_from_a_chair_and_leave_odd_shapes_uncategorised():
    g = GeometricClassifier()
    table = features(long_m=1.4, short_m=0.8, height_m=0.75, top_m=0.74)
    chair = features(long_m=0.55, short_m=0.5, height_m=0.9, top_m=0.46)
    blob = features(long_m=3.0, short_m=0.05, height_m=0.1, top_m=0.1)
    out = g.classify(np.stack([table, chair, blob]))
    assert [c.category for c in out] == ["table", "chair", UNCATEGORISED]
    assert all(abs(sum(c.probabilities.values())) <= 1 + 1e-9 for c in out)


def test_the_shipped_model_loads_and_a_bad_file_is_named(tmp_path):
    model = MlpClassifier(DEFAULT_MODEL)
    p = model.probabilities(np.zeros((3, len(NAMES))))
    assert p.shape == (3, len(CLASSES)) and np.allclose(p.sum(1), 1)
    assert DEFAULT_MODEL.stat().st_size < 200_000  # "a few kB"
    bad = tmp_path / "w.npz"
    bad.write_bytes(b"not a zip")
    raises_naming(FormatError, lambda: MlpClassifier(bad), bad, "not an object classifier")
    raises_naming(FormatError, lambda: MlpClassifier(tmp_path / "none.npz"), tmp_path / "none.npz", "missing")
    other = tmp_path / "other.npz"
    weights = train(np.random.default_rng(0).normal(size=(40, len(NAMES))), np.arange(40) % 3, epochs=1)
    weights["feature_names"] = np.array(["x"] * len(NAMES))
    np.savez(other, **weights)
    raises_naming(FormatError, lambda: MlpClassifier(other), other, "other features")


def test_the_trainer_learns_separable_classes(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 3, n)  # bathtub, bed, chair by their size
    X = rng.normal(0, 0.05, (n, len(NAMES)))
    X[:, NAMES.index("long_m")] += np.array([1.6, 2.0, 0.5])[y]
    X[:, NAMES.index("height_m")] += np.array([0.55, 1.0, 0.9])[y]
    path = tmp_path / "m.npz"
    np.savez(path, **train(X, y, epochs=60))
    model = MlpClassifier(path)
    pred = [c.category for c in model.classify(X)]
    assert np.mean([p == OBJECT_CATEGORIES[k] for p, k in zip(pred, y)]) > 0.95
