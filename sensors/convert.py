"""Convert a session to another format by picking the matching writer.

>>> import sensors
>>> from sensors.convert import convert
>>> with sensors.open("capture") as session:        # doctest: +SKIP
...     convert(session, "capture.mcap")              # format from the suffix
...     convert(session, "capture_tum", to="tum")     # folders need an explicit format
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from .errors import ConfigError
from .session import Session

# output format -> "module:function"; each writer is ``fn(session, out, progress=None) -> Path``
WRITERS: dict[str, str] = {
    "mcap": "sensors.formats.mcap:write_mcap",
    "tum": "sensors.formats.tum:write_tum",
}
_SUFFIXES = {".mcap": "mcap"}


def output_format(out: str | Path, to: str | None = None) -> str:
    """The writer name for ``out``: ``to`` when given, else guessed from the suffix."""
    out = Path(out)
    if to is not None:
        if to not in WRITERS:
            raise ConfigError(f"unknown output format '{to}'; expected one of {', '.join(WRITERS)}", out)
        return to
    if out.suffix.lower() in _SUFFIXES:
        return _SUFFIXES[out.suffix.lower()]
    if not out.suffix:
        raise ConfigError(f"cannot tell the output format of a folder; pass to= one of {', '.join(WRITERS)}", out)
    raise ConfigError(
        f"unknown output suffix '{out.suffix}'; use .mcap or name the output format (to=… in Python, --to on the command line): {', '.join(WRITERS)}", out
    )


def writer_for(session: Session, out: str | Path, to: str | None = None) -> Callable[..., Path]:
    """The writer function that :func:`convert` would use, after checking ``out`` (format known,
    not the input itself), so callers can fail before any work."""
    out = Path(out)
    name = output_format(out, to)
    if out.resolve() == session.path.resolve():
        raise ConfigError("output path is the input capture; choose another path", out)
    module, fn = WRITERS[name].split(":")
    return getattr(importlib.import_module(module), fn)


def convert(
    session: Session,
    out: str | Path,
    to: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``session`` to ``out`` in format ``to`` (``"mcap"`` or ``"tum"``; by default guessed
    from the suffix: ``.mcap`` → MCAP). ``progress(n)`` is called as items are written.
    The output appears atomically; the input is never modified. Returns the written path."""
    return writer_for(session, out, to)(session, Path(out), progress=progress)
