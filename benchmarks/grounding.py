"""Grounding benchmark: open-vocabulary queries (``spatial.grounding``) against ground truth on
simulated rooms and the real ScanNet room, with the naive baseline, in one run. Last line: one
JSON object.

* Queries (``benchmarks/grounding_queries.py``): about 13 per simulated room, generated from
  templates over the simulator's ground truth only (room description, and the parts each element
  is built from for colours), kept only when they single out one element with a margin; kinds
  category/synonym, affordance, attribute (colour, size, shape), relation (nearest, next to,
  between, in the corner, in front of, under the window, left/right as seen from the door),
  structure (doors, windows, openings) and two-sentence ScanRefer-style descriptions. Thirty
  hand-written queries over ScanNet scene0470_00, each checked against the geometry
  (``--scannet-facts`` prints the distances they rest on).
* Simulator: the rooms of ``benchmarks/rooms_data.py`` (tune: seeds from 101, check: from 201;
  cached in ``outputs/bench_rooms``). The room stage (``spatial.rooms.capture``) runs on the map
  fused at the true poses (``scene_gt/``: grounding isolated from tracking) and on the one fused
  at the tracked poses (``scene/``); its outputs are cached in ``outputs/bench_grounding``. The
  graph is built from that output and the scene (mesh colours, keyframes); answers in the
  tracker's world are mapped onto the true one by the yaw + translation alignment of the
  trajectories (as in ``benchmarks/rooms.py``). Also: the graph built from the ground-truth
  room description (``gt_boxes``: grounding with perfect boxes), and the naive baseline (MiniLM
  similarity of the query to "a <category>" for every object, door, window and opening of the
  room stage's output; the most similar wins).
* ScanNet scene0470_00 (mesh only, no keyframes): room stage on the mesh (``up="z"``), graph
  from it and the mesh colours. Ground truth: Scan2CAD boxes (chairs, table, trash bin) and boxes
  around the labelled door, window and whiteboard vertices (``spatial.eval.scannet``). The
  ``gt_boxes`` variant builds the graph from those boxes (bin and whiteboard as ``unknown`` with
  their labels) plus the room stage's walls and floor.
* Score (``spatial.eval.grounding``): the first answer is right when its box overlaps the
  target's at 3D IoU ≥ 0.25, or, for thin targets (doors, windows, whiteboard), when each box
  contains the other's centre with 0.1 m of slack across the wall. Latency: milliseconds per
  ``graph.query`` once the graph is built; build time: seconds per ``build_graph``.

Main figures: ``query_top1_sim`` = check split, true poses; ``query_top1_scannet``.

    python benchmarks/grounding.py [--data ../shared/data] [--cache outputs/bench_grounding]
                                   [--rooms-cache outputs/bench_rooms] [--split tune|check|all|none]
                                   [--fresh] [--skip-missing] [--scannet-facts]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import grounding_queries as gq
from rooms_data import DEFAULT_CACHE as ROOMS_CACHE
from rooms_data import prepare, rooms

from sensors.errors import EmptySessionError
from sensors.room import RoomDescription, RoomElement
from spatial.eval.grounding import QueryResult, hit_matches, per_kind_accuracy, score_hit, top1_accuracy
from spatial.eval.scannet import label_boxes, read_scan2cad_all
from spatial.rooms import RoomOptions, capture

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "outputs" / "bench_grounding"
SCANNET = "scannet_scene0470_00_scan2cad"
MESH = "scene0470_00_vh_clean_2.ply"
LABELS = "scene0470_00_vh_clean_2.labels.ply"
SCAN2CAD = "scan2cad_annotation_scene0470_00.json"
MAIN_KINDS = ("category", "affordance", "attribute", "relation", "structure", "description")
TOP_K = 5


def log(*a) -> None:
    print(*a, flush=True)


# -- room stage, cached ------------------------------------------------------------------------------
def room_stage(source, cached: Path, options: RoomOptions | None = None, fresh: bool = False) -> RoomDescription:
    """``spatial.rooms.capture(source)``, read from ``cached`` (a room.json) when it is there."""
    if cached.is_file() and not fresh:
        return RoomDescription.load_json(cached)
    try:
        room = capture(source, options)
    except EmptySessionError as exc:  # tracking lost every frame: an empty room
        log(f"  {cached.parent.name}: {exc}")
        room = RoomDescription()
    cached.parent.mkdir(parents=True, exist_ok=True)
    room.save_json(cached)
    return room


# -- answering and scoring ---------------------------------------------------------------------------
class Timings:
    """Graph build times (s) and per-query latencies (ms) of the method."""

    def __init__(self) -> None:
        self.build_s: list[float] = []
        self.query_ms: list[float] = []


def build(room: RoomDescription, timings: Timings | None = None, **kw):
    """``spatial.grounding.build_graph(room, **kw)`` timed into ``timings``; the exception instead
    of a graph when it raises (every query then counts as unanswered, with the error shown)."""
    from spatial.grounding import build_graph

    t0 = time.perf_counter()
    try:
        graph = build_graph(room, **kw)
    except Exception as exc:  # a benchmark reports what broke and goes on
        log(f"  build_graph failed: {type(exc).__name__}: {exc}")
        return exc
    if timings is not None:
        timings.build_s.append(time.perf_counter() - t0)
    return graph


def ask_graph(graph, queries: list[gq.Query], truth: dict[str, RoomElement], T_true_world: np.ndarray,
              timings: Timings | None = None) -> list[QueryResult]:
    """Each query's first answer from ``graph`` (mapped onto the true world by ``T_true_world``),
    scored against its target in ``truth``. A query that raises (or a graph that could not be
    built: an exception) counts as unanswered."""
    out = []
    for q in queries:
        t0 = time.perf_counter()
        try:
            if isinstance(graph, Exception):
                raise graph
            hits = graph.query(q.text, top_k=TOP_K)
            error = ""
        except Exception as exc:  # a benchmark reports what broke and goes on
            hits, error = [], f"{type(exc).__name__}: {exc}"
        ms = 1000 * (time.perf_counter() - t0)
        if timings is not None and not error:
            timings.query_ms.append(ms)
        pred = hits[0].element.transformed(T_true_world) if hits else None
        r = score_hit(q.text, q.kinds, q.room, truth[q.target], pred, hits[0].score if hits else None, ms)
        if error:
            r = replace(r, hit_label=error)
        out.append(r)
    return out


def _words(category: str) -> str:
    """"washerDryer" → "washer dryer"."""
    return "".join(" " + c.lower() if c.isupper() else c for c in category)


def naive_answers(room: RoomDescription, queries: list[gq.Query], truth: dict[str, RoomElement],
                  T_true_world: np.ndarray) -> list[QueryResult]:
    """The naive baseline: MiniLM cosine similarity of the query to "a <category>" (or "a
    <label>" for an uncategorised element with a label) for every object, door, window and
    opening of ``room``; the most similar answers (ties: the first in the room's order)."""
    from spatial.grounding.models.text import text_model

    model = text_model()
    cands = [e for e in room.elements if e.category not in ("wall", "floor")]
    names = [f"a {e.label}" if e.category == "unknown" and e.label else
             ("an object" if e.category == "unknown" else f"a {_words(e.category)}") for e in cands]
    emb = model.embed(names) if cands else None
    out = []
    for q in queries:
        pred = None
        if cands:
            sims = emb @ model.embed([q.text])[0]
            pred = cands[int(np.argmax(sims))].transformed(T_true_world)
        out.append(score_hit(q.text, q.kinds, q.room, truth[q.target], pred))
    return out


def describe_failures(title: str, results: list[QueryResult], truth_of: dict[str, dict[str, RoomElement]],
                      found_of: dict[str, dict[str, str]]) -> None:
    """Print each wrong answer: the query, what came first, and whether the room stage found
    the target at all (``found_of``: room → :func:`found_targets`; rooms missing from it are not
    checked) and under which category."""
    wrong = [r for r in results if not r.correct]
    if not wrong:
        return
    log(f"-- {title}: {len(wrong)} wrong of {len(results)}")
    for r in wrong:
        truth = truth_of[r.room]
        target = truth[r.target]
        if r.hit is None:
            got = "nothing" + (f" ({r.hit_label})" if r.hit_label else "")
        else:
            c = r.hit_center_m
            got = f"{r.hit_category}{'/' + r.hit_label if r.hit_label else ''} at ({c[0]:.2f}, {c[1]:.2f}) (IoU {r.iou:.2f})"
        tname = target.label or target.category
        note = ""
        if r.room in found_of:
            found = found_of[r.room].get(r.target)
            if found is None:
                note = "  [target not in the room stage's output]"
            elif found != tname:
                note = f"  [room stage calls the target {found}]"
        log(f"   {r.room:14s} {r.text!r} [{','.join(r.kinds)}] → {got}; want {tname} "
            f"at ({target.center_m[0]:.2f}, {target.center_m[1]:.2f}){note}")


def found_targets(room: RoomDescription, truth: dict[str, RoomElement], T_true_world: np.ndarray) -> dict[str, str]:
    """True element identifier → category (or label) the room stage gave the element of ``room``
    that matches it (by the query metric), for the true elements it found."""
    mapped = [e.transformed(T_true_world) for e in room.elements]
    out = {}
    for i, t in truth.items():
        match = next((p for p in mapped if hit_matches(p, t)), None)
        if match is not None:
            out[i] = match.label or match.category
    return out


def summary(results: list[QueryResult]) -> dict:
    """Accuracy, count and per-kind accuracy of ``results``."""
    kinds = per_kind_accuracy(results)
    return {"top1": top1_accuracy(results), "n": len(results),
            **{f"top1_{k}": kinds[k][0] for k in MAIN_KINDS if k in kinds},
            **{f"n_{k}": kinds[k][1] for k in MAIN_KINDS if k in kinds}}


def table(title: str, rows: dict[str, list[QueryResult]]) -> None:
    """One line per variant: overall and per-kind top-1 accuracy (count)."""
    log(f"== {title}")
    head = f"   {'variant':12s} {'all':>11s}" + "".join(f" {k:>13s}" for k in MAIN_KINDS)
    log(head)
    for name, results in rows.items():
        kinds = per_kind_accuracy(results)
        cells = "".join(f" {kinds[k][0]:>7.3f} ({kinds[k][1]:3d})" if k in kinds else f" {'-':>13s}" for k in MAIN_KINDS)
        log(f"   {name:12s} {top1_accuracy(results):>5.3f} ({len(results):3d})" + cells)


# the parts of the method, each switched off in turn (GroundingOptions fields)
ABLATIONS = {"text_model": {"text_model": "none"}, "wall_fixtures": {"wall_fixtures": False},
             "attributes": {"attributes": False}, "relations": {"relations": False}}


def ablated(change: dict):
    from spatial.grounding import GroundingOptions

    return GroundingOptions(**change)


# -- simulator -----------------------------------------------------------------------------------------
def run_sim(split: str, cache: Path, rooms_cache: Path, timings: Timings, fresh: bool,
            skip_missing: bool = False) -> dict[str, list[QueryResult]]:
    """Every variant on every room of ``split``: results per variant ("true", "tracked",
    "gt_boxes", "naive"), failures printed. Rooms missing from ``rooms_cache`` are simulated
    first, or skipped with ``skip_missing``."""
    from rooms import yaw_alignment

    from spatial.eval.trajectory import read_tum
    from spatial.scene import Scene

    out: dict[str, list[QueryResult]] = {"true": [], "tracked": [], "gt_boxes": [], "naive": [],
                                         **{f"without_{a}": [] for a in ABLATIONS}}
    truth_of: dict[str, dict[str, RoomElement]] = {}
    found: dict[str, dict[str, dict[str, str]]] = {"true": {}, "tracked": {}}
    for preset, seed in rooms(split):
        if skip_missing and not (rooms_cache / f"{preset}_{seed}" / "scene" / "scene.json").is_file():
            log(f"  {preset}_{seed}: not in {rooms_cache}, skipped")
            continue
        folder = prepare(preset, seed, rooms_cache, log)
        gt = RoomDescription.load_json(folder / "gt.room.json")
        facts = gq.sim_facts(preset, seed, gt)
        queries = gq.sim_queries(facts)
        truth = {e.identifier: e for e in gt.elements}
        truth_of[facts.name] = truth
        line = [f"  {facts.name:14s} {len(queries):2d} queries"]
        n_built = len(timings.build_s)
        for variant, scene_dir in (("true", "scene_gt"), ("tracked", "scene")):
            scene = Scene.load(folder / scene_dir)
            room = room_stage(scene, cache / facts.name / f"{scene_dir}.room.json", fresh=fresh)
            T = np.eye(4)
            if variant == "tracked" and room.elements:  # an empty room (tracking lost) has nothing to map
                T = yaw_alignment(read_tum(folder / "gt.trajectory.tum"), scene.trajectory)
            found[variant][facts.name] = found_targets(room, truth, T)
            res = ask_graph(build(room, timings, scene=scene), queries, truth, T, timings)
            out[variant] += res
            line.append(f"{variant} {top1_accuracy(res):.2f}")
            if variant == "true":
                for a, change in ABLATIONS.items():  # each part switched off in turn, same room
                    out[f"without_{a}"] += ask_graph(build(room, scene=scene, options=ablated(change)), queries, truth, T)
                out["naive"] += naive_answers(room, queries, truth, T)
                out["gt_boxes"] += ask_graph(build(gt, scene=scene), queries, truth, np.eye(4))
                line.append(f"gt_boxes {top1_accuracy(out['gt_boxes'][-len(queries):]):.2f}")
        log(", ".join(line) + f" (graph built in {np.mean(timings.build_s[n_built:]):.1f} s)")
    table(f"simulator, {split} split ({len(truth_of)} rooms)", out)
    describe_failures(f"{split}, true poses", out["true"], truth_of, found["true"])
    describe_failures(f"{split}, tracked poses", out["tracked"], truth_of, found["tracked"])
    describe_failures(f"{split}, ground-truth boxes", out["gt_boxes"], truth_of, {})
    return out


# -- ScanNet -----------------------------------------------------------------------------------------
def scannet_truth(d: Path) -> dict[str, RoomElement]:
    """The ScanNet room's query targets: Scan2CAD boxes and the labelled door, window and whiteboard."""
    elements = read_scan2cad_all(d / SCAN2CAD)
    for label in (8, 9, 30):
        elements += label_boxes(d / LABELS, label)[:1]
    return {e.identifier: e for e in elements}


def gt_box_room(room: RoomDescription, truth: dict[str, RoomElement]) -> RoomDescription:
    """The true boxes as a room description: walls and floors from the room stage's ``room``."""
    structure = [e for e in room.elements if e.category in ("wall", "floor")]
    return RoomDescription(structure + list(truth.values()), "scannet-gt-boxes")


def run_scannet(data: Path, cache: Path, timings: Timings, fresh: bool) -> tuple[dict[str, list[QueryResult]], float]:
    """Ours, ours on the true boxes, and the naive baseline on ScanNet scene0470_00; and the
    graph's build time (seconds)."""
    from spatial.rooms.source import load_geometry

    d = data / SCANNET
    geometry = load_geometry(d / MESH)
    t0 = time.perf_counter()
    room = room_stage(d / MESH, cache / "scannet" / "room.json", RoomOptions(up="z"), fresh)
    room_s = time.perf_counter() - t0
    truth = scannet_truth(d)
    queries = gq.SCANNET_QUERIES
    t0 = time.perf_counter()
    graph = build(room, geometry=geometry)
    build_s = time.perf_counter() - t0
    out = {"ours": ask_graph(graph, queries, truth, np.eye(4), timings)}
    out["gt_boxes"] = ask_graph(build(gt_box_room(room, truth), geometry=geometry), queries, truth, np.eye(4))
    for a, change in ABLATIONS.items():
        out[f"without_{a}"] = ask_graph(build(room, geometry=geometry, options=ablated(change)), queries, truth, np.eye(4))
    out["naive"] = naive_answers(room, queries, truth, np.eye(4))
    log(f"  scannet: room stage {room_s:.1f} s (cached: {room_s < 0.5}), graph {build_s:.1f} s")
    table(f"ScanNet {gq.SCANNET} ({len(queries)} queries)", out)
    truth_of = {gq.SCANNET: truth}
    describe_failures("ScanNet, room stage boxes", out["ours"], truth_of, {gq.SCANNET: found_targets(room, truth, np.eye(4))})
    describe_failures("ScanNet, ground-truth boxes", out["gt_boxes"], truth_of, {})
    describe_failures("ScanNet, naive", out["naive"], truth_of, {gq.SCANNET: found_targets(room, truth, np.eye(4))})
    return out, build_s


def scannet_facts(data: Path) -> None:
    """Print what the hand-written ScanNet queries rest on: every target's box, the gaps between
    footprints (metres), each chair's side as seen from the door, and mean mesh colours."""
    from spatial.rooms.source import load_geometry
    from spatial.scene.shapes import box_point_distance

    d = data / SCANNET
    truth = scannet_truth(d)
    names = {"scan2cad-0": "bin", "scan2cad-5": "table", "label8-0": "door", "label9-0": "window", "label30-0": "board"}
    for i in ("1", "2", "3", "4", "6"):
        names[f"scan2cad-{i}"] = f"chair{i}"
    mesh = load_geometry(d / MESH)
    xyz, rgb = np.asarray(mesh.vertices), np.asarray(mesh.vertex_colors, float)
    log(f"{'':8s} {'centre':>18s} {'dims (w, d, h)':>18s}  colour (mean RGB inside)")
    for i, e in truth.items():
        inside = box_point_distance(xyz, e.T_world_element, np.array(e.dimensions_m) + 0.02) <= 0
        c = rgb[inside].mean(0) if inside.any() else np.zeros(3)
        log(f"{names[i]:8s} {np.array2string(e.center_m, precision=2):>18s} {np.array2string(np.array(e.dimensions_m), precision=2):>18s}"
            f"  {np.array2string(c, precision=0)} ({int(inside.sum())} vertices)")
    others = ["table", "door", "window", "bin", "board"]
    by_name = {v: truth[k] for k, v in names.items()}
    log("gap (m) from each chair's footprint to …  (centre distance in brackets)")
    log(f"{'':8s}" + "".join(f" {o:>13s}" for o in others) + "  corner")
    corners = [np.array(c) for c in ((0.0, 0.0), (3.45, 0.0), (3.45, 2.85), (0.0, 2.85))]
    for c in ("chair1", "chair2", "chair3", "chair4", "chair6"):
        e = by_name[c]
        cells = "".join(f" {gq._gap(e, by_name[o]):>6.2f} ({gq.centre_distance_m(e, by_name[o]):4.2f})" for o in others)
        cg = min(gq.polygon_gap_m(gq.footprint(e), k[None]) for k in corners)
        log(f"{c:8s}{cells}  {cg:.2f}")
    door = by_name["door"]
    n = door.T_world_element[:2, 1]
    n = n if n @ (np.array([1.7, 1.4]) - door.center_m[:2]) > 0 else -n
    v = gq.Viewer(door.center_m[:2], n / np.linalg.norm(n))
    log(f"seen from the door (looking {np.array2string(v.forward, precision=2)}): lateral (+ left) and depth of each object")
    for k in ("chair1", "chair2", "chair3", "chair4", "chair6", "table", "bin", "window", "board"):
        lo, c, hi = v.lateral(by_name[k])
        log(f"   {k:8s} lateral {lo:5.2f} … {hi:5.2f} (centre {c:5.2f}), depth {v.depth(by_name[k])[0]:4.2f} … {v.depth(by_name[k])[1]:4.2f}")


def sim_figures(sim: dict[str, dict[str, list[QueryResult]]]) -> dict:
    """The simulator's figures: the check split at true poses is the report (the tune split's when
    check was not run); every split's too, suffixed."""
    if not sim:
        return {}
    main_split = "check" if "check" in sim else next(iter(sim))
    report = sim[main_split]
    return {
        "query_top1_sim": top1_accuracy(report["true"]),
        "query_top1_sim_tracked": top1_accuracy(report["tracked"]),
        "query_top1_sim_gt_boxes": top1_accuracy(report["gt_boxes"]),
        "query_top1_sim_naive": top1_accuracy(report["naive"]),
        "relation_acc_sim": top1_accuracy([r for r in report["true"] if "relation" in r.kinds]),
        **{f"query_top1_sim_{s}": top1_accuracy(v["true"]) for s, v in sim.items()},
        **{f"query_top1_sim_{s}_tracked": top1_accuracy(v["tracked"]) for s, v in sim.items()},
        **{f"query_top1_sim_{s}_naive": top1_accuracy(v["naive"]) for s, v in sim.items()},
        **{f"query_top1_sim_{s}_gt_boxes": top1_accuracy(v["gt_boxes"]) for s, v in sim.items()},
        **{f"query_top1_sim_{s}_without_{a}": top1_accuracy(v[f"without_{a}"]) for s, v in sim.items() for a in ABLATIONS},
        **{f"query_top1_sim_{k[5:]}": v for k, v in summary(report["true"]).items() if k.startswith("top1_")},
        **{f"n_queries_sim_{k[2:]}": v for k, v in summary(report["true"]).items() if k.startswith("n_")},
        "n_queries_sim": len(report["true"]),
        **{f"n_queries_sim_{s}": len(v["true"]) for s, v in sim.items()},
        "sim_split": main_split,
    }


# -- main ------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--rooms-cache", type=Path, default=ROOMS_CACHE)
    ap.add_argument("--split", choices=("tune", "check", "all", "none"), default="all", help="simulated rooms to run ('none': ScanNet only)")
    ap.add_argument("--fresh", action="store_true", help="rerun the room stage instead of reading its cached outputs")
    ap.add_argument("--skip-missing", action="store_true", help="skip rooms not yet in the rooms cache instead of simulating them")
    ap.add_argument("--scannet-facts", action="store_true", help="print the geometry behind the ScanNet queries and stop")
    args = ap.parse_args()
    if args.scannet_facts:
        scannet_facts(args.data)
        return
    from spatial.grounding.models.text import text_model

    t_start = time.perf_counter()
    text_model().embed(["warm up"])  # the model loads before anything is timed
    timings = Timings()
    splits = {"all": ("tune", "check"), "none": ()}.get(args.split, (args.split,))
    sim = {s: run_sim(s, args.cache, args.rooms_cache, timings, args.fresh, args.skip_missing) for s in splits}
    sim_build = list(timings.build_s)
    scannet, scannet_build_s = run_scannet(args.data, args.cache, timings, args.fresh) if (args.data / SCANNET).is_dir() else ({}, 0.0)
    figures: dict = sim_figures(sim)
    if scannet:
        figures.update({
            "query_top1_scannet": top1_accuracy(scannet["ours"]),
            "query_top1_scannet_gt_boxes": top1_accuracy(scannet["gt_boxes"]),
            "query_top1_scannet_naive": top1_accuracy(scannet["naive"]),
            **{f"query_top1_scannet_without_{a}": top1_accuracy(scannet[f"without_{a}"]) for a in ABLATIONS},
            **{f"query_top1_scannet_{k[5:]}": v for k, v in summary(scannet["ours"]).items() if k.startswith("top1_")},
            **{f"n_queries_scannet_{k[2:]}": v for k, v in summary(scannet["ours"]).items() if k.startswith("n_")},
            "n_queries_scannet": len(scannet["ours"]),
            "graph_build_s_scannet": scannet_build_s,
        })
    figures.update({
        "query_ms": float(np.mean(timings.query_ms)) if timings.query_ms else float("nan"),
        "query_ms_p95": float(np.percentile(timings.query_ms, 95)) if timings.query_ms else float("nan"),
        "graph_build_s": float(np.mean(sim_build)) if sim_build else (scannet_build_s if scannet else float("nan")),
    })
    log(f"benchmark ran in {time.perf_counter() - t_start:.0f} s")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
