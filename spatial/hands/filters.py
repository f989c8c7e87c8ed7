"""One Euro filter (Casiez, Roussel and Vogel, CHI 2012) for joint positions.

A low-pass filter whose cutoff rises with speed: still hands are smoothed hard (jitter
removed), fast hands follow with little lag. Works on arrays of any shape, element-wise.
"""

from __future__ import annotations

import numpy as np

from sensors.errors import ConfigError


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """``min_cutoff_hz``: cutoff at rest (lower = smoother); ``beta``: how fast the cutoff rises
    with speed (per unit/s of the signal, e.g. metres/s); ``d_cutoff_hz``: cutoff of the speed
    estimate. Defaults suit hand joints in metres."""

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 10.0, d_cutoff_hz: float = 1.0) -> None:
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ConfigError(
                f"One Euro cutoffs must be positive and beta non-negative, got {min_cutoff_hz}, {d_cutoff_hz}, {beta}"
            )
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_ns: int | None = None

    def __call__(self, x: np.ndarray, timestamp_ns: int) -> np.ndarray:
        """Filtered value of ``x`` at ``timestamp_ns`` (the first sample passes unchanged; a
        sample not after the previous one, or of another shape, restarts the filter)."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape or timestamp_ns <= self._t_ns:
            self._x, self._dx, self._t_ns = x.copy(), np.zeros_like(x), int(timestamp_ns)
            return x.copy()
        dt = (timestamp_ns - self._t_ns) / 1e9
        dx = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff_hz, dt) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t_ns = int(timestamp_ns)
        return self._x.copy()
