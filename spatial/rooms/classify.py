"""Object classifiers as backends (DESIGN.md, Models: Options → Task → Result): each maps instance
features (:mod:`.features`) to one of RoomPlan's 16 categories with a probability, or to
:data:`~sensors.room.UNCATEGORISED` when none fits well enough.

Backends register by name (:func:`register`); :func:`get_classifier` builds the one
``RoomOptions.classifier`` names:

* ``"mlp+geometric"`` (``"default"``): the two below multiplied (a product of experts), better
  than either on the benchmark's tuning rooms (``benchmarks/rooms.py``).
* ``"mlp"``: a small multilayer perceptron trained on simulated rooms by
  ``python -m spatial.rooms.train_classifier`` (weights of a few kB shipped in
  ``spatial/rooms/models/``; ``classifier_path`` loads another file). Inference is numpy only.
* ``"geometric"``: hand-written priors on size and on where the horizontal surfaces are (seat,
  table or counter height), no training; the baseline the learned model is measured against.

An image-model backend plugs in the same way: register a factory returning an object with
``classify(features, crops) -> list[Classification]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from sensors.errors import ConfigError, FormatError
from sensors.room import OBJECT_CATEGORIES, UNCATEGORISED

from .features import NAMES
from .options import RoomOptions

CLASSES = (*OBJECT_CATEGORIES, "none")  # what learned backends predict: the 16, or no object at all
MODEL_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = MODEL_DIR / "objects_mlp.npz"


@dataclass(frozen=True)
class Classification:
    """``category`` (one of the 16 or ``"unknown"``), ``score`` the probability of the best of the
    16 in [0, 1], ``probabilities`` per category."""

    category: str
    score: float
    probabilities: dict[str, float]


class ObjectClassifier(Protocol):
    name: str

    def classify(self, features: np.ndarray, crops: list | None = None) -> list[Classification]:
        """One result per row of ``features`` (N, len(NAMES)); ``crops`` (images of each
        instance) are for image backends and may be ignored."""
        ...


_REGISTRY: dict[str, Callable[[RoomOptions], ObjectClassifier]] = {}


def register(name: str, factory: Callable[[RoomOptions], ObjectClassifier]) -> None:
    """Make ``factory(options)`` available as ``RoomOptions(classifier=name)``."""
    _REGISTRY[name] = factory


def available() -> list[str]:
    return sorted(_REGISTRY)


def get_classifier(options: RoomOptions) -> ObjectClassifier:
    name = "mlp+geometric" if options.classifier == "default" else options.classifier
    if name not in _REGISTRY:
        raise ConfigError(f"unknown object classifier '{options.classifier}'; available: {', '.join(available())}")
    return _REGISTRY[name](options)


def _results(p: np.ndarray, min_score: float) -> list[Classification]:
    out = []
    for row in p:
        k = int(np.argmax(row))
        probs = {c: float(v) for c, v in zip(OBJECT_CATEGORIES, row)}
        category = OBJECT_CATEGORIES[k] if row[k] >= min_score else UNCATEGORISED
        out.append(Classification(category, float(row[k]), probs))
    return out


# -- geometric priors -------------------------------------------------------------------------
# typical real sizes, metres: (long side, short side, height) ranges, and the height band of the
# main up-facing surface (None: no telling top); the tolerances below widen them
PRIORS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float] | None]] = {
    "bathtub": ((1.4, 1.9), (0.65, 0.9), (0.4, 0.65), (0.35, 0.65)),
    "bed": ((1.8, 2.3), (0.9, 2.0), (0.4, 1.3), (0.4, 0.7)),
    "chair": ((0.4, 0.75), (0.4, 0.7), (0.7, 1.2), (0.38, 0.55)),
    "dishwasher": ((0.55, 0.65), (0.5, 0.65), (0.8, 0.92), (0.8, 0.92)),
    "fireplace": ((1.0, 1.8), (0.25, 0.6), (0.9, 1.4), (0.9, 1.4)),
    "oven": ((0.55, 0.65), (0.5, 0.65), (0.8, 0.92), (0.8, 0.92)),
    "refrigerator": ((0.55, 0.95), (0.55, 0.8), (1.5, 2.1), (1.5, 2.1)),
    "sink": ((0.45, 1.0), (0.4, 0.65), (0.8, 1.2), (0.8, 0.95)),
    "sofa": ((1.5, 2.6), (0.75, 1.0), (0.65, 1.0), (0.35, 0.55)),
    "stairs": ((0.9, 2.5), (0.7, 1.2), (0.5, 3.0), None),
    "storage": ((0.4, 1.6), (0.3, 0.65), (0.6, 2.2), None),
    "stove": ((0.55, 0.8), (0.5, 0.65), (0.8, 0.95), (0.8, 0.95)),
    "table": ((0.6, 2.2), (0.5, 1.2), (0.65, 0.8), (0.65, 0.8)),
    "television": ((0.7, 1.6), (0.05, 0.45), (0.5, 1.6), None),
    "toilet": ((0.55, 0.8), (0.33, 0.5), (0.65, 0.9), (0.35, 0.5)),
    "washerDryer": ((0.55, 0.65), (0.5, 0.65), (0.8, 0.92), (0.8, 0.92)),
}


AGAINST_WALL = ("bathtub", "dishwasher", "fireplace", "oven", "refrigerator", "sink", "stove", "toilet",
                "washerDryer", "television", "storage")  # almost always stand against a wall


def _band_score(x: float, band: tuple[float, float], tolerance: float) -> float:
    lo, hi = band
    gap = max(lo - x, x - hi, 0.0)
    return float(np.exp(-0.5 * (gap / tolerance) ** 2))


class GeometricClassifier:
    """Size and top-height priors (:data:`PRIORS`), softmax over their log-likelihoods."""

    name = "geometric"
    OTHER = 0.2  # likelihood mass of "none of the 16"

    def __init__(self, min_score: float = 0.3):
        self.min_score = min_score
        self._i = {n: k for k, n in enumerate(NAMES)}

    def classify(self, features: np.ndarray, crops: list | None = None) -> list[Classification]:
        f = np.atleast_2d(features)
        logp = np.zeros((len(f), len(OBJECT_CATEGORIES)))
        for r, row in enumerate(f):
            get = {n: row[k] for n, k in self._i.items()}
            for c, cat in enumerate(OBJECT_CATEGORIES):
                long_, short, height, top = PRIORS[cat]
                s = _band_score(get["long_m"], long_, 0.12) * _band_score(get["short_m"], short, 0.1)
                s *= _band_score(get["height_m"], height, 0.1)
                # a category without a telling top height fits more shapes, so it says less
                s *= 0.3 + 0.7 * _band_score(get["top_m"], top, 0.08) if top is not None else 0.4
                if cat in AGAINST_WALL and not get["against_wall"]:
                    s *= 0.3
                logp[r, c] = np.log(max(s, 1e-12))
        likelihood = np.exp(logp)
        # an implicit "none of these" class keeps objects that fit no prior well uncategorised
        return _results(likelihood / (likelihood.sum(1, keepdims=True) + self.OTHER), self.min_score)


# -- learned ----------------------------------------------------------------------------------
class MlpClassifier:
    """A two-hidden-layer ReLU perceptron over standardised features (numpy inference)."""

    name = "mlp"

    def __init__(self, path: str | Path = DEFAULT_MODEL, min_score: float = 0.4):
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                self.mean, self.std = z["mean"], z["std"]
                self.layers = [(z[f"W{k}"], z[f"b{k}"]) for k in range(int(z["n_layers"]))]
                names = tuple(str(x) for x in z["feature_names"])
                categories = tuple(str(x) for x in z["categories"])
        except FileNotFoundError:
            raise FormatError("object classifier weights are missing", path) from None
        except (OSError, KeyError, ValueError) as exc:
            raise FormatError(f"not an object classifier weights file ({exc})", path) from None
        if names != NAMES or categories != CLASSES:
            raise FormatError("object classifier weights were trained on other features or categories", path)
        self.min_score = min_score

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(N, 17) probabilities of :data:`CLASSES`."""
        x = (np.atleast_2d(features) - self.mean) / self.std
        for k, (W, b) in enumerate(self.layers):
            x = x @ W + b
            if k < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        x -= x.max(1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(1, keepdims=True)

    def classify(self, features: np.ndarray, crops: list | None = None) -> list[Classification]:
        return _results(self.probabilities(features)[:, :len(OBJECT_CATEGORIES)], self.min_score)


class ProductClassifier:
    """Two backends' probabilities multiplied and renormalised (a product of experts): the learned
    model's view of shape, held to real-world sizes by the geometric priors."""

    name = "mlp+geometric"

    def __init__(self, learned: MlpClassifier, priors: GeometricClassifier, min_score: float = 0.4):
        self.learned, self.priors, self.min_score = learned, priors, min_score

    def classify(self, features: np.ndarray, crops: list | None = None) -> list[Classification]:
        p = self.learned.probabilities(features)  # 16 + none
        q = np.array([[c.probabilities[k] for k in OBJECT_CATEGORIES] for c in self.priors.classify(features)])
        q = np.hstack([q, 1.0 - q.sum(1, keepdims=True)])  # the priors' "none of these"
        joint = p * q
        joint /= np.maximum(joint.sum(1, keepdims=True), 1e-12)
        return _results(joint[:, :len(OBJECT_CATEGORIES)], self.min_score)


register("geometric", lambda options: GeometricClassifier())
register("mlp", lambda options: MlpClassifier(options.classifier_path or DEFAULT_MODEL))
register("mlp+geometric", lambda options: ProductClassifier(MlpClassifier(options.classifier_path or DEFAULT_MODEL),
                                                            GeometricClassifier()))
