"""The SDK's error family.

Every error names the file (when there is one) and what is wrong with it, so a
user can act on the message alone. ``spatial`` re-exports these.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SpatialError(Exception):
    """Base class of every error raised on purpose by ``sensors`` and ``spatial``."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class FormatError(SpatialError):
    """A file is missing, truncated, corrupt or not in the expected layout."""


class UnknownFormatError(FormatError):
    """No registered reader recognises the path."""


class CalibrationError(SpatialError):
    """Intrinsics, extrinsics, depth scale or time offset are missing or implausible."""


class SyncError(SpatialError):
    """Timestamps are non-monotonic, duplicated or cannot be associated."""


class EmptySessionError(SpatialError):
    """A session (or a stream that was asked for) holds no data."""


class ConfigError(SpatialError):
    """A configuration value is invalid (negative size, zero rate, …)."""


class MissingDependencyError(SpatialError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, module: str, extra: str, purpose: str = "") -> None:
        what = f" for {purpose}" if purpose else ""
        super().__init__(
            f"the optional module '{module}' is needed{what}: "
            f"pip install 'spatial-sdk[{extra}]'"
        )
        self.module = module
        self.extra = extra


def require(module: str, extra: str, purpose: str = ""):
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module, extra, purpose) from exc


def validated(model: type[T], what: str, **values) -> T:
    """``model(**values)`` for a pydantic config model, its validation errors turned into one
    :class:`ConfigError` ("invalid <what> config: field: problem (got value); …")."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        raise ConfigError(f"invalid {what} config: {problems}") from None
