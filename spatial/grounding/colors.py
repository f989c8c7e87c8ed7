"""Colour names for reconstructed surfaces: RGB → one of :data:`COLOR_NAMES`.

Reconstructions see colours through the scene's lighting and the camera's exposure, so names
are given after an exposure gain that brings the scene's bright surfaces (its 97th percentile
of brightness) to near white — a white wall in a dim room is still called white. Names follow
the hue, lightness and chroma of CIELab (D65): low chroma (< 7) is grey or, above L* 80, white, and
anything darker than L* 25 is black; the rest is named by hue angle (red below 45° and above
355°, pink when light and soft; warm hues 45–100° brown below L* 60, else beige when soft,
orange or yellow by hue; green to 190°, blue to 312°, purple to 340°, pink).
"""

from __future__ import annotations

import numpy as np

COLOR_NAMES = ("black", "grey", "white", "brown", "beige", "red", "orange", "yellow", "green", "blue", "purple",
               "pink")
#: words people use for a colour → the name above they mean
COLOR_WORDS = {
    **{n: n for n in COLOR_NAMES}, "gray": "grey", "silver": "grey", "wooden": "brown", "wood": "brown",
    "tan": "beige", "cream": "beige", "ivory": "white", "navy": "blue", "teal": "green", "violet": "purple",
    "maroon": "red", "crimson": "red", "golden": "yellow", "gold": "yellow", "dark": "dark", "light": "light",
}


def exposure_gain(rgb: np.ndarray) -> float:
    """Multiplier that maps the scene's bright colours (97th percentile of the per-point
    maximum channel) to 235, capped at 2.5 (a dark scene stays dark)."""
    if len(rgb) == 0:
        return 1.0
    bright = float(np.percentile(np.asarray(rgb).max(axis=1), 97))
    return float(np.clip(235.0 / max(bright, 1.0), 1.0, 2.5))


def lab(rgb: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(N, 3) CIELab (L* 0–100, a*, b*) of (N, 3) uint8 RGB after ``gain``."""
    import cv2

    rgb = np.clip(np.asarray(rgb, np.float32).reshape(-1, 3) * gain / 255.0, 0.0, 1.0)
    return cv2.cvtColor(rgb.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)


def name_colors(rgb: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """(N,) indices into :data:`COLOR_NAMES` of (N, 3) uint8 RGB colours."""
    L, a, b = lab(rgb, gain).T
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    n = COLOR_NAMES.index
    idx = np.select(
        [(hue >= 355) | (hue < 45), hue < 100, hue < 190, hue < 312, hue < 340],
        [n("red"), n("orange"), n("green"), n("blue"), n("purple")],
        n("pink"),
    )
    warm = idx == n("orange")
    idx[warm & (L < 60)] = n("brown")
    idx[warm & (L >= 60) & (chroma < 25)] = n("beige")
    idx[warm & (L >= 60) & (chroma >= 25) & (hue >= 70)] = n("yellow")
    idx[(idx == n("red")) & (L > 70) & (chroma < 40)] = n("pink")
    achromatic = chroma < 7.0
    idx[achromatic] = np.where(L[achromatic] > 80, n("white"), n("grey"))
    idx[(L < 25) & (chroma < 20)] = n("black")
    return idx


def dominant_colors(rgb: np.ndarray, gain: float = 1.0, weights: np.ndarray | None = None,
                    min_share: float = 0.15) -> list[tuple[str, float]]:
    """Colour names covering at least ``min_share`` of the (weighted) colours, with their shares,
    most common first (ties by name, so the order is deterministic)."""
    if len(rgb) == 0:
        return []
    idx = name_colors(rgb, gain)
    w = np.ones(len(idx)) if weights is None else np.asarray(weights, float)
    share = np.bincount(idx, weights=w, minlength=len(COLOR_NAMES)) / max(w.sum(), 1e-12)
    order = sorted(range(len(COLOR_NAMES)), key=lambda i: (-share[i], COLOR_NAMES[i]))
    return [(COLOR_NAMES[i], round(float(share[i]), 3)) for i in order if share[i] >= min_share]


def mean_lightness(rgb: np.ndarray, gain: float = 1.0) -> float:
    """Median L* (0–100) of the colours: what "dark" and "light" compare."""
    return float(np.median(lab(rgb, gain)[:, 0])) if len(rgb) else 50.0
