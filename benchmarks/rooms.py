"""Room understanding benchmark: ``spatial.rooms.capture`` against ground truth on simulated rooms
and a real ScanNet room, with baselines and ablations, in one run. Last line: one JSON object.

* Simulator: every preset, three seeds each for tuning (from 101) and three for checking (from
  201; seeds the simulator cannot plan a scan of are skipped, see ``benchmarks/rooms_data.py``),
  each scanned, tracked with its IMU and fused at the tracked poses (1 cm), cached in
  ``outputs/bench_rooms``. The predicted room is moved onto the true world with the alignment
  of the tracked trajectory onto the true one (yaw and translation: both are gravity-aligned),
  then scored with
  ``spatial.eval.rooms``: wall F1 (10 cm endpoints, 5°), door/window/opening F1 at 2D IoU 0.5,
  object box F1 at 3D IoU 0.25 and 0.5 (per category), floor-area error. Figures are summed over
  the rooms of a split (F1 of the total counts; area error averaged). Both splits are printed;
  the settings were chosen on "tune", "check" is the report.
* Ablations on both splits, each part of the method switched off in turn (see ``ABLATIONS``):
  the outermost-surface wall test, dropping faces recessed in front of a continuing wall, the
  wall face at the front of its surface, keyframe free-space evidence for openings, the colour
  cue for doors, the learned classifier (geometric priors instead), the footprint split of
  touching objects, the split of kitchen runs into units; and the same rooms fused at the true
  poses, to tell room understanding from tracking failures.
* ScanNet scene0470_00 (real mesh, NYU40 vertex labels, Scan2CAD boxes): structure F1 over mesh
  vertices (within 5 cm of a wall or floor box) for ours and for a naive baseline (iterative
  Open3D RANSAC planes, 2 cm: vertical ones are walls, the lowest horizontal one the floor, each
  the oriented box of its inliers), object F1 at IoU 0.25 for chairs and the table, whether the
  door and the window sit in the walls holding the labelled door and window vertices, timing.

    python benchmarks/rooms.py [--data ../shared/data] [--cache outputs/bench_rooms] [--split tune|check|all]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from rooms_data import DEFAULT_CACHE, prepare, rooms

from sensors.errors import EmptySessionError
from sensors.room import RoomDescription, RoomElement
from spatial.eval import rooms as metrics
from spatial.eval.scannet import read_scan2cad, read_vertex_labels, structure_masks
from spatial.eval.trajectory import associate, read_tum
from spatial.rooms import RoomOptions, capture
from spatial.scene import Scene

SCANNET = "scannet_scene0470_00_scan2cad"


def log(*a) -> None:
    print(*a, flush=True)


_BLOCKED_COLUMNS = importlib.import_module("spatial.rooms.walls").blocked_columns


def _no_blocking(*args, **kw):
    """The columns a plane covers, none of them ever in front of another surface."""
    starts, blocked = _BLOCKED_COLUMNS(*args, **kw)
    return starts, np.zeros_like(blocked)


# name → (module, attribute, replacement): a part of the method switched off
ABLATIONS = {
    "no_outermost_test": ("spatial.rooms.walls", "blocked_columns", _no_blocking),
    "no_recessed_drop": ("spatial.rooms.layout", "drop_recessed", lambda faces, **kw: (faces, [])),
    "no_front_surface": ("spatial.rooms.layout", "front_surface", lambda faces, xy, area, **kw: faces),
    "no_keyframe_evidence": ("spatial.rooms.openings", "see_through", lambda wall, st, views, nz, nt, cfg: np.zeros((nz, nt), int)),
    "no_colour_doors": ("spatial.rooms.openings", "_from_colour", lambda *a, **kw: []),
    "no_footprint_split": ("spatial.rooms.objects", "_split", lambda xyz, *a, **kw: [np.arange(len(xyz))]),
    "no_run_split": ("spatial.rooms.objects", "is_counter_run", lambda *a, **kw: False),
}


@contextmanager
def ablated(name: str | None):
    """Switch one part off (see :data:`ABLATIONS`) for the duration."""
    if name is None:
        yield
        return
    module, attr, replacement = ABLATIONS[name]
    mod = importlib.import_module(module)
    original = getattr(mod, attr)
    setattr(mod, attr, replacement)
    try:
        yield
    finally:
        setattr(mod, attr, original)


# -- simulator ----------------------------------------------------------------------------------
def yaw_alignment(ref, est) -> np.ndarray:
    """T_ref_est by yaw and translation only (4 DoF): both worlds are gravity-aligned (the
    simulator's by construction, the tracker's by its IMU), so a full SE(3) fit would only add a
    tilt from the trajectory's noise."""
    r, e = associate(ref, est)
    a, b = r.positions_m, e.positions_m
    ca, cb = a.mean(0), b.mean(0)
    h = (b[:, :2] - cb[:2]).T @ (a[:, :2] - ca[:2])
    yaw = np.arctan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1])
    T = np.eye(4)
    T[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    T[:3, 3] = ca - T[:3, :3] @ cb
    return T


def sim_room(folder: Path, options: RoomOptions, scene_dir: str = "scene") -> tuple[metrics.RoomMetrics, float]:
    scene = Scene.load(folder / scene_dir)
    gt = RoomDescription.load_json(folder / "gt.room.json")
    T_gt_world = yaw_alignment(read_tum(folder / "gt.trajectory.tum"), scene.trajectory)
    t0 = time.perf_counter()
    try:
        room = capture(scene, options)
    except EmptySessionError as exc:  # tracking lost every frame: nothing was fused; scored as an empty room
        log(f"  {folder.name}: {exc}")
        room = RoomDescription()
    seconds = time.perf_counter() - t0
    return metrics.evaluate(room, gt, T_gt_world), seconds


def summarise(results: list[metrics.RoomMetrics]) -> dict:
    walls = sum((r.walls for r in results), metrics.Counts(0, 0, 0))
    openings = sum((r.openings.overall for r in results), metrics.Counts(0, 0, 0))
    obj25 = sum((r.objects_25.overall for r in results), metrics.Counts(0, 0, 0))
    obj50 = sum((r.objects_50.overall for r in results), metrics.Counts(0, 0, 0))
    agn25 = sum((r.objects_25.agnostic for r in results), metrics.Counts(0, 0, 0))
    per_cat: dict[str, metrics.Counts] = {}
    for r in results:
        for c, v in r.objects_25.per_category.items():
            per_cat[c] = per_cat.get(c, metrics.Counts(0, 0, 0)) + v
    per_open: dict[str, metrics.Counts] = {}
    for r in results:
        for c, v in r.openings.per_category.items():
            per_open[c] = per_open.get(c, metrics.Counts(0, 0, 0)) + v
    return {
        "rooms": len(results),
        "wall_f1": walls.f1, "wall_precision": walls.precision, "wall_recall": walls.recall,
        "opening_f1": openings.f1, "object_f1_25": obj25.f1, "object_f1_50": obj50.f1,
        "object_f1_25_class_agnostic": agn25.f1,
        "area_err": float(np.mean([r.area_error for r in results])) if results else float("nan"),
        "per_category_f1_25": {c: round(v.f1, 3) for c, v in sorted(per_cat.items()) if v.n_true or v.n_pred},
        "per_opening_f1": {c: round(v.f1, 3) for c, v in per_open.items() if v.n_true or v.n_pred},
    }


def run_sim(split: str, cache: Path, variants: dict[str, tuple[RoomOptions, str | None, str]]) -> dict:
    """Every variant (options, ablation, scene folder) on every room of ``split``."""
    out = {}
    folders = [prepare(p, s, cache, log) for p, s in rooms(split)]
    for name, (options, ablation, scene_dir) in variants.items():
        results, seconds = [], []
        with ablated(ablation):
            for folder in folders:
                r, sec = sim_room(folder, options, scene_dir)
                results.append(r)
                seconds.append(sec)
                if name == "ours":
                    log(f"  {folder.name:14s} walls {r.walls.tp}/{r.walls.n_true} (pred {r.walls.n_pred}), "
                        f"openings {r.openings.overall.tp}/{r.openings.overall.n_true} (pred {r.openings.overall.n_pred}), "
                        f"objects@0.25 {r.objects_25.overall.tp}/{r.objects_25.overall.n_true} (pred {r.objects_25.overall.n_pred}), "
                        f"area {100 * r.area_error:.1f} %, {sec:.1f} s")
        out[name] = summarise(results) | {"seconds_per_room": float(np.mean(seconds))}
        log(f"{split} {name}: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out[name].items()}))
    return out


# -- ScanNet -------------------------------------------------------------------------------------
def naive_structure(pts: np.ndarray, distance_m: float = 0.02, min_inliers: int = 1000, max_planes: int = 30) -> RoomDescription:
    """Iterative Open3D RANSAC planes on (N, 3) ``pts``: vertical → wall box, the lowest
    horizontal → floor box, each the plane-aligned bounding box of its inliers."""
    import open3d as o3d

    rest = np.arange(len(pts))
    walls, floors = [], []
    o3d.utility.random.seed(0)
    for _ in range(max_planes):
        if len(rest) < min_inliers:
            break
        pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[rest]))
        (a, b, c, _), inl = pc.segment_plane(distance_m, 3, 1000)
        if len(inl) < min_inliers:
            break
        n = np.array([a, b, c]) / np.linalg.norm([a, b, c])
        P = pts[rest[inl]]
        if abs(n[2]) < 0.2:
            u = np.cross([0, 0, 1.0], n)
            u /= np.linalg.norm(u)
            R = np.stack([u, n, np.cross(u, n)], 1)
            walls.append(_aligned_box(P, R, "wall", len(walls)))
        elif abs(n[2]) > 0.9:
            floors.append(_aligned_box(P, np.eye(3), "floor", len(floors)))
        rest = np.delete(rest, inl)
    floors.sort(key=lambda e: e.center_m[2])
    return RoomDescription(walls + floors[:1])


def _aligned_box(P: np.ndarray, R: np.ndarray, category: str, k: int) -> RoomElement:
    local = P @ R
    lo, hi = local.min(0), local.max(0)
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = R @ ((lo + hi) / 2)
    return RoomElement(f"{category}-{k}", category, tuple(hi - lo), T)


def run_scannet(data: Path) -> dict:
    d = data / SCANNET
    mesh = d / "scene0470_00_vh_clean_2.ply"
    xyz, labels = read_vertex_labels(d / "scene0470_00_vh_clean_2.labels.ply")
    true, scored = structure_masks(labels)
    gt_objects = read_scan2cad(d / "scan2cad_annotation_scene0470_00.json")
    t0 = time.perf_counter()
    room = capture(mesh)
    seconds = time.perf_counter() - t0
    ours = metrics.structure_f1(xyz, true, scored, room)
    naive = metrics.structure_f1(xyz, true, scored, naive_structure(xyz))
    # the same planes fitted to the vertices labelled wall or floor only: what boxes around the
    # true structure score by this metric (a board on the wall, wheels on the floor stay within 5 cm)
    oracle = metrics.structure_f1(xyz, true, scored, naive_structure(xyz[true]))
    objects = metrics.object_f1(room, gt_objects, 0.25, categories=("chair", "table"))
    found = {k: metrics.opening_on_labelled_vertices(room, xyz[labels == lab], k) for k, lab in (("door", 8), ("window", 9))}
    out = {
        "structure_f1": ours.f1, "structure_precision": ours.precision, "structure_recall": ours.recall,
        "naive_structure_f1": naive.f1, "naive_precision": naive.precision, "naive_recall": naive.recall,
        "oracle_structure_f1": oracle.f1, "oracle_precision": oracle.precision, "oracle_recall": oracle.recall,
        "object_f1_25": objects.overall.f1,
        "object_per_category": {c: v.to_dict() for c, v in objects.per_category.items()},
        "door_in_right_wall": found["door"], "window_in_right_wall": found["window"],
        "walls": len(room.of("wall")), "doors": len(room.of("door")), "windows": len(room.of("window")),
        "seconds": seconds,
    }
    log("scannet: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--split", choices=("tune", "check", "all"), default="all")
    ap.add_argument("--no-ablations", action="store_true")
    args = ap.parse_args()
    variants: dict[str, tuple[RoomOptions, str | None, str]] = {"ours": (RoomOptions(), None, "scene")}
    if not args.no_ablations:
        variants["true_poses"] = (RoomOptions(), None, "scene_gt")
        variants["geometric_classifier"] = (RoomOptions(classifier="geometric"), None, "scene")
        variants.update({name: (RoomOptions(), name, "scene") for name in ABLATIONS})
    sim = {s: run_sim(s, args.cache, variants) for s in (("tune", "check") if args.split == "all" else (args.split,))}
    scannet = run_scannet(args.data) if (args.data / SCANNET).is_dir() else {}
    report = sim.get("check", sim.get("tune"))["ours"]
    figures = {
        "wall_f1_sim": report["wall_f1"], "opening_f1_sim": report["opening_f1"],
        "object_f1_25_sim": report["object_f1_25"], "object_f1_50_sim": report["object_f1_50"],
        "area_err_sim": report["area_err"], "seconds_per_room_sim": report["seconds_per_room"],
        "rooms_sim": report["rooms"],
        **{f"{k}_{split}": v["ours"][k2] for split, v in sim.items()
           for k, k2 in (("wall_f1_sim", "wall_f1"), ("opening_f1_sim", "opening_f1"), ("object_f1_25_sim", "object_f1_25"),
                         ("area_err_sim", "area_err"))},
        **{f"{key}_sim_{split}_{name}": v[name][key2] for split, v in sim.items() for name in v if name != "ours"
           for key, key2 in (("wall_f1", "wall_f1"), ("opening_f1", "opening_f1"), ("object_f1_25", "object_f1_25"))},
    }
    if scannet:
        figures.update({
            "structure_f1_scannet": scannet["structure_f1"], "structure_f1_scannet_naive": scannet["naive_structure_f1"],
            "structure_f1_scannet_labelled_planes": scannet["oracle_structure_f1"],
            "object_f1_25_scannet": scannet["object_f1_25"], "seconds_scannet": scannet["seconds"],
            "door_found_scannet": scannet["door_in_right_wall"], "window_found_scannet": scannet["window_in_right_wall"],
        })
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
