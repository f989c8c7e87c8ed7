"""What every model backend of the grounding layer shares: a registry of backends by name, the
check of the local folder a model is loaded from, and a quiet, offline transformers.

Backends never download: they load from a folder the user gives (one written by
``save_pretrained()``), with ``local_files_only=True`` and the Hugging Face hub switched off.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from sensors.errors import ConfigError, MissingDependencyError

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """Backend factories by name: ``@REG.register("clip")`` on a function, ``REG.get("clip")``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator registering ``factory`` under ``name`` (a later registration replaces it)."""

        def add(factory: F) -> F:
            self._factories[name] = factory
            return factory

        return add

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._factories))

    def get(self, name: str) -> F:
        """The factory of ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
        try:
            return self._factories[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} '{name}': expected one of {', '.join(self.names())}") from None


def model_folder(kind: str, name: str, path: str | Path | None, example: str) -> tuple[Path, dict]:
    """``path`` resolved, with its ``config.json`` parsed; a missing path, a folder without
    ``config.json`` or an unreadable config raises :class:`ConfigError` saying what to give
    (``example``: a model id to download elsewhere and save with ``save_pretrained()``)."""
    hint = (f"give a local folder saved with save_pretrained(), e.g. {example} downloaded on a machine with internet "
            "(nothing is downloaded here)")
    if path is None or str(path).strip() == "":
        raise ConfigError(f"{kind} '{name}' needs the path of a local model folder: {hint}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{kind} folder {folder} does not exist or is not a folder: {hint}")
    config = folder / "config.json"
    if not config.is_file():
        raise ConfigError(f"{kind} folder {folder} holds no model (config.json missing): {hint}")
    try:
        doc = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{kind} config {config} is unreadable ({exc}): {hint}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{kind} config {config} is not a JSON object: {hint}")
    return folder.resolve(), doc


def require_transformers(purpose: str) -> None:
    """Import torch and transformers (offline) or raise :class:`MissingDependencyError` naming the
    ``grounding`` extra."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for module in ("torch", "transformers"):
        try:
            __import__(module)
        except ImportError:
            raise MissingDependencyError(module, "grounding", purpose) from None


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Within the block, transformers logs errors only and shows no progress bars (the library
    never prints); the caller's settings are restored afterwards."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_pretrained(kind: str, folder: Path, loader: Callable[[], object]) -> object:
    """``loader()`` quietly, with the errors of a broken or incomplete folder turned into
    :class:`ConfigError` naming it."""
    try:
        with quiet_transformers():
            return loader()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"could not load the {kind} from {folder} ({first}): give a complete folder written by save_pretrained() "
            "of both the model and its processor"
        ) from None
