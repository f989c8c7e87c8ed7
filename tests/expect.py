"""Assertions shared by the bad-input tests: an error must name the file and the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def assert_names(error, path: Path, *words: str) -> None:
    """``error`` (an exception or ``pytest.raises`` info) mentions ``path`` and every word."""
    msg = str(getattr(error, "value", error))
    assert str(path) in msg, msg
    for w in words:
        assert w in msg, msg


def raises_naming(exc_type: type[Exception], call: Callable[[], object], where: Path, *words: str):
    """``call()`` raises ``exc_type`` whose ``path`` is ``where`` and whose message names it and
    every word; returns the exception."""
    with pytest.raises(exc_type) as info:
        call()
    assert info.value.path == where, str(info.value)
    assert_names(info, where, *words)
    return info.value


def read_all(reader) -> None:
    """Decode every record of ``reader``."""
    for rec in reader.records():
        rec.load()
