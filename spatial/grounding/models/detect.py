"""Open-vocabulary 2D detection (OWL-ViT, OWLv2) from a local folder: text phrases in, scored
pixel boxes out. Nothing is downloaded; save ``google/owlv2-base-patch16-ensemble`` (or an
OWL-ViT) with ``save_pretrained`` elsewhere and give its folder
(``GroundingOptions(detector="owlv2", detector_path=FOLDER)``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError

from ._hf import cache_key, load_parts, local_folder, transformers_offline

DETECTORS = ("owlvit", "owlv2")


@dataclass(frozen=True)
class Detection:
    """One detection: the ``phrase`` it matches, its ``score`` in [0, 1] and its box
    ``(x0, y0, x1, y1)`` in the image's pixels."""

    phrase: str
    score: float
    box_xyxy_px: tuple[float, float, float, float]


class Detector:
    """A loaded detector; :meth:`detect` is deterministic (eval mode, no sampling)."""

    def __init__(self, name: str, path: Path, model, tokenizer, images) -> None:
        self.name, self.path = name, path
        self._model, self._tokenizer, self._images = model, tokenizer, images
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray, phrases: list[str], min_score: float = 0.1, max_detections: int = 20) -> list[Detection]:
        """Detections of ``phrases`` in an HxWx3 uint8 RGB ``image``, best first, boxes of one phrase
    overlapping another's by IoU 0.5 or more suppressed."""
        _, torch = transformers_offline()
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.size
                and image.dtype == np.uint8):
            raise ConfigError("the image must be a non-empty HxWx3 uint8 RGB array")
        phrases = [p for p in phrases if p.strip()]
        if not phrases:
            return []
        with self._lock, torch.inference_mode():
            tok = self._tokenizer(phrases, padding="max_length", truncation=True, return_tensors="pt",
                                  max_length=min(16, getattr(self._tokenizer, "model_max_length", 16)))
            pix = self._images(images=[image], return_tensors="pt")["pixel_values"]
            out = self._model(input_ids=tok["input_ids"], attention_mask=tok.get("attention_mask"), pixel_values=pix)
        scores = torch.sigmoid(out.logits[0]).cpu().numpy()  # (patches, phrases)
        boxes = out.pred_boxes[0].cpu().numpy()  # (patches, 4) centre x, y, w, h in [0, 1]
        h, w = image.shape[:2]
        sx, sy = (max(h, w), max(h, w)) if self.name == "owlv2" else (w, h)  # OWLv2 pads to a square
        best = scores.argmax(1)
        found = []
        for i in np.argsort(-scores.max(1), kind="stable")[:max_detections]:
            s = float(scores[i, best[i]])
            if s < min_score:
                break
            cx, cy, bw, bh = boxes[i]
            x0, y0 = np.clip([(cx - bw / 2) * sx, (cy - bh / 2) * sy], 0, [w, h])
            x1, y1 = np.clip([(cx + bw / 2) * sx, (cy + bh / 2) * sy], 0, [w, h])
            box = (float(x0), float(y0), float(x1), float(y1))
            if x1 - x0 >= 1 and y1 - y0 >= 1 and all(d.phrase != phrases[best[i]] or _iou(d.box_xyxy_px, box) < 0.5
                                                     for d in found):  # non-maximum suppression per phrase
                found.append(Detection(phrases[best[i]], s, box))
        return found


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def detector(name: str, path: str | Path | None) -> Detector:
    """The detector ``name`` (one of :data:`DETECTORS`) from the local folder ``path``, loaded
    once per process and folder."""
    return _load(name, cache_key(path))


@lru_cache(maxsize=2)
def _load(name: str, path: str | None) -> Detector:
    if name not in DETECTORS:
        raise ConfigError(f"unknown detector '{name}'; expected one of {DETECTORS}")
    folder = local_folder(path, f"detector '{name}'", "google/owlv2-base-patch16-ensemble")
    transformers, _ = transformers_offline()
    cls = {"owlvit": transformers.OwlViTForObjectDetection, "owlv2": transformers.Owlv2ForObjectDetection}[name]
    return Detector(name, folder, *load_parts(folder, cls, f"detector '{name}'"))
