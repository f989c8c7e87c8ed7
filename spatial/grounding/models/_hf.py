"""Loading Hugging Face models from a local folder only: offline, quiet, with errors that say
what to give. Shared by the image–text and detection backends."""

from __future__ import annotations

import os
from pathlib import Path

from sensors.errors import ConfigError, MissingDependencyError


def local_folder(path: str | Path | None, what: str, example: str) -> Path:
    """``path`` as a folder holding a saved model (``config.json``), or a ConfigError saying how
    to make one (nothing is downloaded at run time)."""
    how = (f"give a local folder with the {what}'s weights: on a machine with internet, "
           f"from_pretrained('{example}').save_pretrained(FOLDER) for the model and its processor, then copy FOLDER here")
    if path is None:
        raise ConfigError(f"the {what} needs a path; {how}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{what} folder {folder} does not exist; {how}")
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{what} folder {folder} holds no config.json; {how}")
    return folder


def cache_key(path: str | Path | None) -> str | None:
    """``path`` as the absolute folder it names: one cache entry per model folder, however spelt."""
    return None if path is None else str(Path(path).expanduser().resolve())


def transformers_offline():
    """The ``transformers`` and ``torch`` modules, with the hub switched off and transformers'
    progress bars and info logging silenced for the process (this library never prints; set
    them back with ``transformers.utils.logging`` if your own code wants them)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "transformers", "grounding", "image-text and detection models") from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers, torch


def load_parts(folder: Path, model_cls, what: str):
    """(model in eval mode on the CPU, tokenizer, image processor) from ``folder``."""
    transformers, _ = transformers_offline()
    try:
        model = model_cls.from_pretrained(str(folder), local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        images = transformers.AutoImageProcessor.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"could not load the {what} from {folder}: {exc}") from None
    model.eval()
    return model, tokenizer, images
