"""Grounding: the room's scene graph for foundation models, and open-vocabulary queries.

    graph = spatial.grounding.build_graph(room, scene)        # attributes + relations
    for hit in graph.query("the black chair in the corner", top_k=3):
        print(hit.identifier, hit.category, hit.score, hit.reasons, hit.keyframe)
    prompt = graph.to_text()                                   # for a language model

``scene.query(text)`` does the same on a :class:`~spatial.scene.Scene` (running room
understanding first when the scene has no room yet). Works with the text model and geometry
alone; an image–text model, a detector and a language model plug in from local paths
(:class:`GroundingOptions`, :mod:`spatial.grounding.models`).
"""

from __future__ import annotations

from .graph import Edge, Node, SceneGraph, build_graph
from .load import load_graph
from .options import GroundingOptions
from .parse import ParsedQuery, parse
from .query import QueryHit

__all__ = ["Edge", "GroundingOptions", "Node", "ParsedQuery", "QueryHit", "SceneGraph", "build_graph", "load_graph", "parse"]
