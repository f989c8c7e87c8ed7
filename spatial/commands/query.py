"""``spatial query``: open-vocabulary queries over a room ("the chair nearest the door"), answered
with ranked 3D boxes from the scene graph of :mod:`spatial.grounding`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sensors.errors import ConfigError, FormatError
from sensors.formats._atomic import atomic_path
from spatial.cli import _bar, app, err, out


def read_queries(path: Path) -> list[str]:
    """One query a line; blank lines and lines starting with # are skipped."""
    from sensors.formats._io import read_bytes

    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("query file is not UTF-8 text", path) from None
    lines = [ln.strip() for ln in text.splitlines()]
    queries = [ln for ln in lines if ln and not ln.startswith("#")]
    if not queries:
        raise FormatError("query file holds no query (one a line)", path)
    return queries


def graph_options(text_model: str, image_model: str | None, image_model_path: Path | None,
                  detector: str | None, detector_path: Path | None):
    from sensors.errors import validated
    from spatial.grounding import GroundingOptions

    return validated(GroundingOptions, "grounding", text_model=text_model, image_model=image_model,
                     image_model_path=None if image_model_path is None else str(image_model_path),
                     detector=detector, detector_path=None if detector_path is None else str(detector_path))


def load_input(path: Path, options, up: str):
    """The scene graph of ``path``, with a progress bar when a capture must be reconstructed."""
    from spatial.grounding import load_graph
    from spatial.rooms import RoomOptions

    room_options = RoomOptions.create(up=up)
    if (path.is_dir() and ((path / "scene.json").is_file() or (path / "room.json").is_file())) or (path.is_file() and \
            path.suffix.lower() in (".ply", ".obj", ".glb", ".gltf", ".off", ".stl")):
        with err.status("building the scene graph"):
            return load_graph(path, options, room_options)
    import sensors

    with sensors.open(path) as session:
        total = 2 * session.num_frames
    with _bar("tracking, then fusing", total) as advance:
        return load_graph(path, options, room_options, progress=advance)


ImageModelOpt = Annotated[str | None, typer.Option("--image-model", help="Image–text model backend (clip, siglip, auto) loaded from --image-model-path.", show_default=False)]
ImagePathOpt = Annotated[Path | None, typer.Option("--image-model-path", help="Local folder of the image–text model (saved with save_pretrained).", show_default=False)]
UpOpt = Annotated[str, typer.Option("--up", help="auto, z or y: which axis of a mesh file points up.")]


@app.command(
    epilog=(
        "Examples:\n\n"
        "  spatial query outputs/rooms_scannet \"the chair nearest the door\" \"the round table\"\n\n"
        "  spatial query scan.ply --up z --queries queries.txt --top 3 --json > hits.json\n\n"
        "  spatial query studio.mcap \"somewhere to sit\" --image-model clip --image-model-path ~/models/clip-vit-b32"
    ),
)
def query(
    path: Annotated[Path, typer.Argument(help="A scene folder, an output folder of 'spatial rooms', a mesh/cloud file, or a capture.", show_default=False)],
    texts: Annotated[list[str] | None, typer.Argument(help="Queries, e.g. \"the black chair in the corner\".", show_default=False)] = None,
    queries_file: Annotated[Path | None, typer.Option("--queries", help="A text file of queries, one a line.", show_default=False)] = None,
    top: Annotated[int, typer.Option("--top", "-k", min=1, help="Hits per query.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list: one {\"query\", \"hits\"} object per query.")] = False,
    graph_out: Annotated[Path | None, typer.Option("--graph", help="Also write the scene graph (JSON) here.", show_default=False)] = None,
    draw: Annotated[Path | None, typer.Option("--draw", help="Write each query's best hit drawn on its keyframe (PNG) into this folder.", show_default=False)] = None,
    up: UpOpt = "auto",
    text_model: Annotated[str, typer.Option("--text-model", help="minilm (the grounding extra's all-MiniLM-L6-v2) or none.")] = "minilm",
    image_model: ImageModelOpt = None,
    image_model_path: ImagePathOpt = None,
    detector: Annotated[str | None, typer.Option("--detector", help="Open-vocabulary detector (owlvit, owlv2) loaded from --detector-path.", show_default=False)] = None,
    detector_path: Annotated[Path | None, typer.Option("--detector-path", help="Local folder of the detector.", show_default=False)] = None,
) -> None:
    """Find objects and structure in a room by description: ranked boxes with scores and reasons.

    The scene graph is built once (room understanding first when the input has none), the models load once, then every query is answered. Hits carry the element's identifier, category, score, reasons, centre and size (metres) and its 4x4 transform in the input's world frame.
    """
    queries = list(texts or []) + (read_queries(queries_file) if queries_file else [])
    if not queries:
        raise ConfigError("no query given: pass one or more quoted queries, or --queries FILE")
    for q in queries:
        if not q.strip():
            raise ConfigError("a query is empty: say what to look for, e.g. 'the chair nearest the door'")
    options = graph_options(text_model, image_model, image_model_path, detector, detector_path)
    t0 = time.perf_counter()
    graph = load_input(path, options, up)
    with err.status("loading models"):
        graph.load_models()
    t1 = time.perf_counter()
    results = []
    for q in queries:
        results.append((q, graph.query(q, top)))
    t2 = time.perf_counter()
    if graph_out is not None:
        with atomic_path(graph_out) as tmp:
            tmp.write_text(json.dumps(graph.to_json(), indent=1) + "\n")
    drawn = []
    if draw is not None:
        from spatial.grounding.draw import draw_hit

        draw.mkdir(parents=True, exist_ok=True)
        for k, (q, hits) in enumerate(results):
            if hits and hits[0].keyframe is not None:
                drawn.append(draw_hit(graph.scene, hits[0], q, draw / f"query_{k + 1:02d}.png"))
    if as_json:
        doc = [{"query": q, "hits": [h.to_dict() for h in hits]} for q, hits in results]
        out.print_json(json.dumps(doc))
        return
    alias = graph.aliases
    for q, hits in results:
        table = Table(title=f"“{q}”", title_justify="left", show_lines=False)
        for col in ("#", "element", "category", "score", "centre (m)", "size (m)", "keyframe", "why"):
            table.add_column(col, overflow="fold")
        for i, h in enumerate(hits, 1):
            table.add_row(str(i), alias.get(h.identifier, h.identifier), h.element.label or h.category, f"{h.score:.3f}",
                          " ".join(f"{v:.2f}" for v in h.element.center_m),
                          "x".join(f"{v:.2f}" for v in h.element.dimensions_m),
                          "-" if h.keyframe is None else str(h.keyframe), "; ".join(h.reasons[1:]) or h.reasons[0])
        if not hits:
            table.add_row("-", "nothing in the room fits", "", "", "", "", "", "")
        out.print(table)
    n_obj = len(graph.objects)
    out.print(f"{len(queries)} queries over {len(graph.nodes)} elements ({n_obj} objects): graph and models ready in {t1 - t0:.2f} s, "
              f"{1000 * (t2 - t1) / len(queries):.0f} ms per query" + (f"; drew {len(drawn)} hits into {draw}" if draw else ""),
              highlight=False, markup=False)
