"""Visualisation (the ``viz`` extra): rerun recordings of sessions and results."""

from .rerun_log import log_session, log_tracking

__all__ = ["log_session", "log_tracking"]
