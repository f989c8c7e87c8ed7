"""``spatial ask``: a question about a room answered by a language model behind any
OpenAI-compatible endpoint, reading the scene graph of :mod:`spatial.grounding`; the objects the
answer cites come back with their boxes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from spatial.cli import app, err, out
from spatial.commands.query import UpOpt, load_input


@app.command(
    help=(
        "Ask a language model about a room; it answers from the scene graph and cites the objects it means.\n\n"
        "Works with any OpenAI-compatible chat-completions server (llama.cpp's llama-server, vLLM, Ollama's /v1, "
        "a hosted API). The room is described to the model as its scene graph (sizes in metres, heights above the "
        "floor, relations); objects cited in the answer are listed with their centre and size, and with --json "
        "their 4x4 transform in the input's world frame."
    ),
    epilog=(
        "Examples:\n\n"
        "  spatial ask outputs/rooms_scannet \"where can I sit near the window?\" "
        "--endpoint http://localhost:8080/v1 --model qwen2.5-7b-instruct\n\n"
        "  SPATIAL_LLM_ENDPOINT=http://localhost:11434/v1 SPATIAL_LLM_MODEL=llama3.1 "
        "spatial ask scan.ply \"is there a bin under the window?\" --up z --json"
    ),
)
def ask(
    path: Annotated[Path, typer.Argument(
        help="A scene folder, an output folder of 'spatial rooms', a mesh/cloud file, or a capture.",
        show_default=False)],
    question: Annotated[str, typer.Argument(
        help="The question, e.g. \"where can I sit near the window?\".", show_default=False)],
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", show_default=False,
        help="Base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1 "
             "(default: $SPATIAL_LLM_ENDPOINT).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="Model name the server knows (default: $SPATIAL_LLM_MODEL).", show_default=False)] = None,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", show_default=False,
        help="Bearer token, if the server needs one (default: $SPATIAL_LLM_API_KEY, which keeps it out of "
             "the shell history).")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.001, help="Seconds to wait for the answer (default 60).", show_default=False)] = None,
    max_tokens: Annotated[int | None, typer.Option(
        "--max-tokens", min=1, help="Longest answer, in tokens (default 512).", show_default=False)] = None,
    up: UpOpt = "auto",
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object: question, answer and the cited objects with boxes.")] = False,
) -> None:
    """Ask a language model about a room; it answers from the scene graph and cites the objects it means."""
    from spatial.grounding import GroundingOptions
    from spatial.grounding.models.llm import LlmOptions
    from spatial.grounding.models.llm import ask as ask_model

    if not question.strip():
        from sensors.errors import ConfigError

        raise ConfigError("the question is empty: ask something about the room, e.g. 'where can I sit?'")
    options = LlmOptions.create(endpoint=endpoint, model=model, api_key=api_key, timeout_s=timeout,
                                max_tokens=max_tokens).check()  # fail before the graph is built
    t0 = time.perf_counter()
    graph = load_input(path, GroundingOptions(text_model="none"), up)
    t1 = time.perf_counter()
    with err.status(f"asking {options.model}"):
        answer = ask_model(graph, question, options)
    t2 = time.perf_counter()
    nodes = [graph.node(ident) for ident in answer.cited]
    if as_json:
        cited = []
        for node, alias in zip(nodes, answer.aliases, strict=True):
            e = node.element
            cited.append({
                "identifier": e.identifier, "alias": alias, "category": e.category,
                "center_m": [round(float(v), 4) for v in e.center_m],
                "dimensions_m": [round(float(v), 4) for v in e.dimensions_m],
                "transform": [[round(float(v), 6) for v in row] for row in e.T_world_element],
            })
        out.print_json(json.dumps({"question": question, "answer": answer.text, "cited": cited}))
        return
    out.print(answer.text, markup=False, highlight=False)
    if nodes:
        table = Table(title="cited", title_justify="left")
        for col in ("element", "category", "centre (m)", "size (m)"):
            table.add_column(col, overflow="fold")
        for node, alias in zip(nodes, answer.aliases, strict=True):
            e = node.element
            table.add_row(Text(alias), Text(e.label or e.category), " ".join(f"{v:.2f}" for v in e.center_m),
                          "x".join(f"{v:.2f}" for v in e.dimensions_m))
        out.print(table)
    out.print(f"{len(graph.nodes)} elements; graph in {t1 - t0:.2f} s, "
              f"answer from {options.model} in {t2 - t1:.2f} s", highlight=False, markup=False)
