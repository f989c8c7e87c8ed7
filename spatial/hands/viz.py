"""Rerun recording of hand tracking (the ``viz`` extra).

Entities (world z-up, metres; the camera uses OpenCV axes)::

    world/camera                  Transform3D T_world_camera (when known)
    world/camera/image            Pinhole + the colour image
    world/camera/image/hands      Points2D + LineStrips2D of the 2D landmarks, per track
    world/hands                   Points3D + LineStrips3D of the map-frame joints (camera-frame
                                  joints under world/camera/hands when there is no pose)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sensors.errors import require
from sensors.formats._atomic import atomic_path
from sensors.types import RGBDFrame

from ..viz.rerun_log import TIMELINE, start_recording
from .joints import BONES
from .result import HandsResult


class RerunLogger:
    """Log frames and their hands to ``rrd_path`` (written atomically on :meth:`close`)."""

    def __init__(self, rrd_path: str | Path) -> None:
        self.rr = require("rerun", "viz", "rerun recordings")
        self._atomic = atomic_path(rrd_path)
        tmp = self._atomic.__enter__()
        self.rec = start_recording(self.rr, tmp, "spatial-hands")

    def log(self, frame: RGBDFrame, result: HandsResult, T_world_camera: np.ndarray | None = None) -> None:
        rr, rec = self.rr, self.rec
        rec.set_time(TIMELINE, duration=np.int64(frame.timestamp_ns).astype("timedelta64[ns]"))
        if T_world_camera is not None:
            rec.log("world/camera", rr.Transform3D(translation=T_world_camera[:3, 3], mat3x3=T_world_camera[:3, :3]))
        K = frame.intrinsics
        rec.log("world/camera/image", rr.Pinhole(image_from_camera=K.K, resolution=[K.width, K.height], image_plane_distance=0.2))
        if frame.color_encoded is not None and frame.color_encoding in ("jpeg", "png"):
            rec.log("world/camera/image", rr.EncodedImage(contents=frame.color_encoded, media_type=f"image/{frame.color_encoding}"))
        elif frame.color is not None:
            rec.log("world/camera/image", rr.Image(frame.color).compress(jpeg_quality=90))
        strips2d, pts2d, strips3d, pts3d, ids = [], [], [], [], []
        world = all(h.joints_world_m is not None for h in result.hands)
        for h in result.hands:
            ids.append(h.track_id or 0)
            pts2d.append(h.landmarks_px)
            strips2d += [h.landmarks_px[[p, c]] for p, c in BONES]
            J = h.joints_world_m if world else h.joints_camera_m
            if J is not None:
                pts3d.append(J)
                strips3d += [J[[p, c]] for p, c in BONES]
        rec.log("world/camera/image/hands", rr.Points2D(np.concatenate(pts2d) if pts2d else np.zeros((0, 2)), radii=2.0))
        rec.log("world/camera/image/hands/bones", rr.LineStrips2D(strips2d))
        where = "world/hands" if world else "world/camera/hands"
        rec.log(where, rr.Points3D(np.concatenate(pts3d) if pts3d else np.zeros((0, 3)), radii=0.005))
        rec.log(f"{where}/bones", rr.LineStrips3D(strips3d))

    def close(self, ok: bool = True) -> None:
        try:
            self.rec.flush()
        finally:
            self.rec.disconnect()
            if ok:
                self._atomic.__exit__(None, None, None)
            else:
                self._atomic.__exit__(RuntimeError, RuntimeError("aborted"), None)
