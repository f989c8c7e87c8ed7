"""Synthetic rooms with RGB-D + IMU and full ground truth: the SDK's built-in default session.

>>> from sensors.sim import SimConfig, simulate
>>> simulate(SimConfig.create(preset="studio", seed=0, duration_s=10), "studio.mcap")  # doctest: +SKIP

Pieces: :mod:`~sensors.sim.rooms` (seeded room generator), :mod:`~sensors.sim.trajectory`
(hand-held scan spline), :mod:`~sensors.sim.imu`, :mod:`~sensors.sim.render` (Open3D raycasting
with :mod:`~sensors.sim.noise` sensor models), :mod:`~sensors.sim.simulate` (writes the session).
"""

from .config import SimConfig
from .rooms import PRESETS, generate_world
from .simulate import plan, simulate, write_ground_truth

__all__ = ["PRESETS", "SimConfig", "generate_world", "plan", "simulate", "write_ground_truth"]
