"""Image-mode hand search: more than one pass of a single-image detector.

The palm detector sees the whole image at 192x192, so a hand a few percent of a large image
wide is missed, and a hand filling a small crop up to its borders is sometimes missed too
(measured in ``benchmarks/hands.py``). :func:`find_hands` therefore

1. runs the detector on the whole image;
2. on images whose long side is at least ``TILE_MIN_SIDE``, when fewer than ``num_hands`` were
   found, runs it again on 2x2 overlapping tiles and keeps tile hands that are new (not
   overlapping a hand already found) and not cut by a tile border;
3. when nothing was found, runs it once more on the image padded by ``PAD`` on every side;
4. with ``flip_average``, runs each view that found a hand once more mirrored and averages the
   two estimates of each hand (the model's left/right asymmetric errors partly cancel: lower
   EPE on FreiHAND and Panoptic in the benchmark).

Measured on the benchmark images and not kept: upscaling small images (no change), a second pass
on a crop around each hand (no gain on FreiHAND, worse on Panoptic's small hands), averaging
over ±15° rotations (PCK up by one joint, EPE worse), the lite landmark model, and video-mode
re-runs that take the landmark model's own hand box instead of the palm detector's (no gain).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .result import Hand

TILE_MIN_SIDE = 640
TILE_OVERLAP = 0.25  # fraction of a tile shared with its neighbour
PAD = 0.25  # fraction of the image size added on each side in the padded pass
FLIP_AGREE = 0.2  # joints of the two flip passes further apart than this x hand size are not averaged
BORDER = 0.02  # tile hands closer than this fraction of the tile to an inner border are cut

View = tuple[int, int, int, int, int, int]  # x, y, w, h of the crop, then pad x, pad y


def _view_image(rgb: np.ndarray, v: View) -> np.ndarray:
    x, y, w, h, px, py = v
    img = rgb[y : y + h, x : x + w]
    if px or py:
        img = cv2.copyMakeBorder(img, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return np.ascontiguousarray(img)


def _to_image(hands: list[Hand], v: View, width: int, flipped: bool = False) -> list[Hand]:
    """Map hands detected in view ``v`` (optionally mirrored) back to full-image pixels."""
    x, y, w, _, px, py = v
    vw = w + 2 * px
    out = []
    for hand in hands:
        lm = hand.landmarks_px.copy()
        world = hand.world_landmarks_m
        if flipped:
            lm[:, 0] = vw - lm[:, 0]
            world = world * (-1.0, 1.0, 1.0)
        z = None if hand.landmarks_z is None else hand.landmarks_z * vw / width
        out.append(hand.with_(landmarks_px=lm + np.array([x - px, y - py]), landmarks_z=z, world_landmarks_m=world))
    return out


def _overlaps(a: Hand, b: Hand, fraction: float = 0.2) -> bool:
    ax, ay, aw, ah = a.bbox_px
    bx, by, bw, bh = b.bbox_px
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih > fraction * min(aw * ah, bw * bh) + 1e-9


def tiles(width: int, height: int) -> list[View]:
    """Views of a 2x2 grid of overlapping tiles."""
    tw = int(np.ceil(width / (2 - TILE_OVERLAP)))
    th = int(np.ceil(height / (2 - TILE_OVERLAP)))
    return [(x, y, tw, th, 0, 0) for y in (0, height - th) for x in (0, width - tw)]


def _is_cut(hand: Hand, v: View, width: int, height: int) -> bool:
    x, y, w, h, _, _ = v
    lo, hi = hand.landmarks_px.min(0), hand.landmarks_px.max(0)
    m = BORDER * max(w, h)
    return bool(
        (x > 0 and lo[0] < x + m) or (y > 0 and lo[1] < y + m)
        or (x + w < width and hi[0] > x + w - m) or (y + h < height and hi[1] > y + h - m)
    )


def find_hands(
    detect: Callable[[np.ndarray], list[Hand]],
    rgb: np.ndarray,
    num_hands: int,
    search: bool = True,
    flip_average: bool = True,
) -> list[Hand]:
    """Hands in ``rgb`` by whole-image, tiled and padded passes of ``detect`` (steps 2-3 only with
    ``search``; see the module doc), the best ``num_hands`` by score."""
    h, w = rgb.shape[:2]
    whole: View = (0, 0, w, h, 0, 0)
    found = [(hand, whole) for hand in _to_image(detect(rgb), whole, w)]
    if search and max(h, w) >= TILE_MIN_SIDE and len(found) < num_hands:
        for v in tiles(w, h):
            for hand in _to_image(detect(_view_image(rgb, v)), v, w):
                if not _is_cut(hand, v, w, h) and not any(_overlaps(hand, f) for f, _ in found):
                    found.append((hand, v))
    if search and not found:
        v = (0, 0, w, h, round(PAD * w), round(PAD * h))
        found = [(hand, v) for hand in _to_image(detect(_view_image(rgb, v)), v, w)]
    found.sort(key=lambda hv: -hv[0].score)
    found = found[:num_hands]
    if flip_average:
        found = [(hand, v) for hand, v in _flip_average(detect, rgb, found)]
    return [hand for hand, _ in found]


def _flip_average(detect, rgb: np.ndarray, found: list[tuple[Hand, View]]) -> list[tuple[Hand, View]]:
    w = rgb.shape[1]
    out = []
    mirrored: dict[View, list[Hand]] = {}
    for hand, v in found:
        if v not in mirrored:
            mirrored[v] = _to_image(detect(np.ascontiguousarray(_view_image(rgb, v)[:, ::-1])), v, w, flipped=True)
        twins = [m for m in mirrored[v] if _overlaps(hand, m, 0.5)]
        if twins:
            m = min(twins, key=lambda t: np.linalg.norm(t.landmarks_px.mean(0) - hand.landmarks_px.mean(0)))
            # joints on which the two passes disagree by more than FLIP_AGREE of the hand size are
            # different guesses, not noisy copies: keep the first pass there
            size = max(np.ptp(hand.landmarks_px, axis=0).max(), 1.0)
            agree = np.linalg.norm(m.landmarks_px - hand.landmarks_px, axis=1) <= FLIP_AGREE * size
            a = np.where(agree, 0.5, 0.0)
            z = None if hand.landmarks_z is None or m.landmarks_z is None else hand.landmarks_z + a * (m.landmarks_z - hand.landmarks_z)
            hand = hand.with_(
                landmarks_px=hand.landmarks_px + a[:, None] * (m.landmarks_px - hand.landmarks_px),
                world_landmarks_m=hand.world_landmarks_m + a[:, None] * (m.world_landmarks_m - hand.world_landmarks_m),
                landmarks_z=z,
            )
        out.append((hand, v))
    return out
