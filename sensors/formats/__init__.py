"""Format registry: readers register by name; :func:`open_session` guesses the format.

Built-in formats register themselves below. Third-party packages add theirs through the
``sensors.formats`` entry-point group, each entry point naming a :class:`~sensors.session.Reader`
subclass.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import FormatError, UnknownFormatError
from ..session import Reader, Session

# name -> "module:Class" (imported lazily so optional dependencies load only when used)
_BUILTIN: dict[str, str] = {
    "mcap": "sensors.formats.mcap:McapReader",
    "tum": "sensors.formats.tum:TumReader",
    "7scenes": "sensors.formats.sevenscenes:SevenScenesReader",
    "euroc": "sensors.formats.euroc:EurocReader",
    "scannet": "sensors.formats.scannet:ScanNetReader",
    "arkitscenes": "sensors.formats.arkitscenes:ArkitScenesReader",
    "k4a-mkv": "sensors.formats.k4a_mkv:K4aMkvReader",
    "rosbag": "sensors.formats.rosbag:RosbagReader",
}
_REGISTERED: dict[str, type[Reader]] = {}


def register(name: str, reader: type[Reader]) -> None:
    """Register a reader class under ``name`` (overrides a built-in of the same name)."""
    _REGISTERED[name] = reader


def _load(name: str) -> type[Reader]:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTIN:
        module, cls = _BUILTIN[name].split(":")
        reader = getattr(importlib.import_module(module), cls)
        _REGISTERED[name] = reader
        return reader
    for ep in entry_points(group="sensors.formats"):
        if ep.name == name:
            reader = ep.load()
            _REGISTERED[name] = reader
            return reader
    raise UnknownFormatError(f"no reader named '{name}'; known formats: {', '.join(available())}")


def available() -> list[str]:
    """Names of every known format (built-in, registered and from entry points)."""
    names = dict.fromkeys([*_BUILTIN, *_REGISTERED])
    names.update(dict.fromkeys(ep.name for ep in entry_points(group="sensors.formats")))
    return list(names)


def detect(path: str | Path) -> str:
    """Name of the format that recognises ``path``."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or directory", path)
    for name in available():
        try:
            reader = _load(name)
        except ImportError as exc:
            # a format whose optional dependency is missing cannot be the one to read this path;
            # a missing module of our own is a packaging bug and must surface
            if (exc.name or "").startswith("sensors"):
                raise
            continue
        if reader.detect(path):
            return name
    raise UnknownFormatError(
        "not a recognised capture; name its format (format=… in Python, --format on the command line) or check the path "
        f"(known formats: {', '.join(available())})",
        path,
    )


def open_session(path: str | Path, format: str | None = None, **options) -> Session:
    """Open a capture (file or folder) as a :class:`~sensors.session.Session`.

    ``format`` skips detection; ``options`` go to the reader (see each reader's docs).
    """
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or directory", path)
    reader_cls = _load(format or detect(path))
    return Session(reader_cls(path, **options))
