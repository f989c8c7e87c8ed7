"""Image–text embeddings (CLIP, SigLIP or any ``transformers`` model with
``get_image_features``/``get_text_features``) from a local folder.

Nothing is downloaded. To use a real model, on a machine with internet::

    from transformers import AutoModel, AutoProcessor
    AutoModel.from_pretrained("openai/clip-vit-base-patch32").save_pretrained("clip-vit-b32")
    AutoProcessor.from_pretrained("openai/clip-vit-base-patch32").save_pretrained("clip-vit-b32")

copy ``clip-vit-b32/`` here, then ``GroundingOptions(image_model="clip",
image_model_path="clip-vit-b32")`` or ``spatial query … --image-model clip --image-model-path
clip-vit-b32``. The query layer then scores each object's keyframe crops
(:mod:`spatial.grounding.crops`) against the query's target phrase.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError

from ._hf import cache_key, load_parts, local_folder, transformers_offline

IMAGE_MODELS = ("clip", "siglip", "auto")


class ImageTextModel:
    """A loaded image–text model: :meth:`embed_images` and :meth:`embed_texts` return float32
    (N, D) unit rows in one space (dot product = cosine similarity)."""

    def __init__(self, name: str, path: Path, model, tokenizer, images) -> None:
        self.name, self.path = name, path
        self._model, self._tokenizer, self._images = model, tokenizer, images
        self._memo: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of the embeddings."""
        return int(getattr(self._model.config, "projection_dim", 0) or self.embed_texts(["a"]).shape[1])

    @property
    def key(self) -> str:
        """Names this model in caches: backend and folder."""
        return f"{self.name}:{self.path}"

    @staticmethod
    def _unit(t) -> np.ndarray:
        if not hasattr(t, "shape"):  # some versions return an output object
            t = getattr(t, "pooler_output", None) if getattr(t, "image_embeds", None) is None else t.image_embeds
        a = t.detach().cpu().numpy().astype(np.float32)
        return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Unit embeddings of HxWx3 uint8 RGB images."""
        if not images:
            return np.zeros((0, self.dimension), np.float32)
        for im in images:
            if not (isinstance(im, np.ndarray) and im.ndim == 3 and im.shape[2] == 3 and im.dtype == np.uint8 and im.size):
                raise ConfigError("images must be non-empty HxWx3 uint8 RGB arrays")
        _, torch = transformers_offline()
        with self._lock, torch.inference_mode():
            batch = self._images(images=list(images), return_tensors="pt")
            return self._unit(self._model.get_image_features(pixel_values=batch["pixel_values"]))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings of ``texts`` (memoised)."""
        _, torch = transformers_offline()
        with self._lock, torch.inference_mode():
            missing = sorted({t for t in texts if t not in self._memo})
            if missing:
                kw = {"padding": "max_length" if self.name == "siglip" else True, "truncation": True,
                      "return_tensors": "pt"}
                tok = self._tokenizer(missing, **kw)
                feats = self._unit(self._model.get_text_features(input_ids=tok["input_ids"],
                                                                 attention_mask=tok.get("attention_mask")))
                self._memo.update(zip(missing, feats))
            return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)


def image_text_model(name: str, path: str | Path | None) -> ImageTextModel:
    """The image–text model ``name`` (one of :data:`IMAGE_MODELS`) from the local folder ``path``,
    loaded once per process and folder."""
    return _load(name, cache_key(path))


@lru_cache(maxsize=4)
def _load(name: str, path: str | None) -> ImageTextModel:
    if name not in IMAGE_MODELS:
        raise ConfigError(f"unknown image model '{name}'; expected one of {IMAGE_MODELS}")
    folder = local_folder(path, f"image-text model '{name}'", "openai/clip-vit-base-patch32")
    transformers, _ = transformers_offline()
    cls = {"clip": transformers.CLIPModel, "siglip": transformers.SiglipModel, "auto": transformers.AutoModel}[name]
    model, tokenizer, images = load_parts(folder, cls, f"image-text model '{name}'")
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise ConfigError(f"the model in {folder} ({type(model).__name__}) is not an image-text model")
    return ImageTextModel(name, folder, model, tokenizer, images)
