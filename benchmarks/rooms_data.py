"""Data for ``benchmarks/rooms.py``: simulated rooms scanned, tracked and fused, cached on disk.

Each room is ``spatial sim``'s capture of ``preset`` with ``seed`` (its default tour facing every
wall), tracked with ``spatial.fusion`` (IMU on) and fused at the tracked poses with the default
1 cm TSDF, exactly what ``spatial rooms capture.mcap`` does; and fused again at the true poses.
The cache keeps both scene folders and the ground-truth sidecars (room description, mesh, camera
trajectory); the recording is deleted once fused.

    python benchmarks/rooms_data.py [--cache outputs/bench_rooms] [--split tune|check|all]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("studio", "kitchen", "bedroom", "apartment")
# Seeds 0-8 are used by the tests. The benchmark tunes on one set and reports the other: per
# preset, the first ROOMS_PER_PRESET seeds from the split's start that the simulator can plan a
# scan of (it refuses a few worlds whose walkable space is too small to tour).
SPLITS = {"tune": 101, "check": 201}
ROOMS_PER_PRESET = 3
DEFAULT_CACHE = ROOT / "outputs" / "bench_rooms"


def rooms(split: str) -> list[tuple[str, int]]:
    """(preset, seed) of the rooms of ``split`` ("tune", "check" or "all")."""
    if split == "all":
        return rooms("tune") + rooms("check")
    from sensors.errors import ConfigError
    from sensors.sim import SimConfig, plan

    out = []
    for preset in PRESETS:
        seed, found = SPLITS[split], 0
        while found < ROOMS_PER_PRESET:
            try:
                plan(SimConfig.create(preset=preset, seed=seed))
                out.append((preset, seed))
                found += 1
            except ConfigError:
                pass
            seed += 1
    return out


def prepare(preset: str, seed: int, cache: Path = DEFAULT_CACHE, log=print) -> Path:
    """The cached folder of one room, made if missing: ``scene/`` (fused at the tracked poses),
    ``scene_gt/`` (fused at the true poses, to tell room understanding from tracking failures),
    ``gt.room.json``, ``gt.mesh.ply`` and ``gt.trajectory.tum`` (the true camera poses)."""
    import sensors
    import spatial
    from sensors.sim import SimConfig, simulate
    from spatial.eval.trajectory import write_tum
    from spatial.reconstruction import camera_trajectory

    folder = cache / f"{preset}_{seed}"
    needed = ("scene/scene.json", "scene_gt/scene.json", "gt.room.json", "gt.trajectory.tum")
    if all((folder / f).is_file() for f in needed):
        return folder
    work = cache / f".{preset}_{seed}.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    mcap = work / "capture.mcap"
    simulate(SimConfig.create(preset=preset, seed=seed), mcap)
    t1 = time.perf_counter()
    with sensors.open(mcap) as session:
        if (folder / "scene" / "scene.json").is_file():  # tracked already: keep it
            shutil.copytree(folder / "scene", work / "scene")
        else:
            spatial.reconstruct(session).save(work / "scene")
        spatial.reconstruct(session, poses="ground_truth").save(work / "scene_gt")
        write_tum(camera_trajectory(session), work / "gt.trajectory.tum")
    (work / "capture.room.json").rename(work / "gt.room.json")
    (work / "capture.mesh.ply").rename(work / "gt.mesh.ply")
    for extra in work.glob("capture.*"):
        extra.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    log(f"{preset} seed {seed}: simulated in {t1 - t0:.0f} s, reconstructed in {time.perf_counter() - t1:.0f} s")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--split", choices=("tune", "check", "all"), default="all")
    args = ap.parse_args()
    for preset, seed in rooms(args.split):
        prepare(preset, seed, args.cache)


if __name__ == "__main__":
    main()
