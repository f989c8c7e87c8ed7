"""Open-vocabulary queries over a scene graph: parse, resolve names, score every element, rank.

A candidate's score is a product of experts, each in [0, 1]: how well its category (or, for an
uncategorised object, its size and placement) fits the target; its colours, size and shape
against the query's adjectives; each relation resolved with geometry against the anchors the
relation names (weighted by how well each anchor fits its own phrase); and, when an image–text
model is configured, the similarity of its keyframe crops to the target phrase. A relation that
fails scales a candidate down to 5 %, so a query with a wrong relation still returns the best
of the rest. Ties break by identifier: the same query on the same graph gives the same hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors.errors import ConfigError
from sensors.room import RoomElement

from . import relations as rel
from .fixtures import LABEL as FIXTURE_LABEL
from .graph import Node, SceneGraph
from .parse import ParsedQuery, Phrase, RelationSpec, parse
from .resolve import Referent, common_fit, resolve
from .vocab import CATEGORY_SIZES, COMMON_COLORS, size_fit

#: similarity of colour names (symmetric; 1 on the diagonal)
_COLOR_SIM = {("black", "grey"): 0.4, ("grey", "white"): 0.4, ("beige", "white"): 0.4, ("beige", "brown"): 0.5,
              ("brown", "orange"): 0.5, ("red", "orange"): 0.4, ("red", "pink"): 0.5, ("red", "brown"): 0.3,
              ("beige", "yellow"): 0.4, ("orange", "yellow"): 0.4, ("blue", "purple"): 0.3, ("pink", "purple"): 0.4,
              ("grey", "blue"): 0.2, ("grey", "beige"): 0.2}
RELATION_FLOOR = 0.05
_SUPERLATIVE = ("nearest", "farthest", "left", "right")


@dataclass(frozen=True)
class QueryHit:
    """One answer: the room ``element`` (its box in the room's world frame), ``score`` in
    [0, 1], the ``reasons`` that made it, and the index in ``Scene.keyframes`` of the keyframe
    that shows it best (``None`` without keyframes)."""

    element: RoomElement
    score: float
    reasons: tuple[str, ...]
    keyframe: int | None = None

    @property
    def identifier(self) -> str:
        return self.element.identifier

    @property
    def category(self) -> str:
        return self.element.category

    def to_dict(self) -> dict:
        e = self.element
        return {
            "identifier": e.identifier, "category": e.category, "label": e.label or None,
            "score": round(self.score, 4), "reasons": list(self.reasons),
            "center_m": [round(float(v), 4) for v in e.center_m],
            "dimensions_m": [round(v, 4) for v in e.dimensions_m],
            "transform": [[round(float(v), 6) for v in row] for row in e.T_world_element],
            "keyframe": self.keyframe,
        }


def _color_sim(a: str, b: str) -> float:
    return 1.0 if a == b else _COLOR_SIM.get((a, b), _COLOR_SIM.get((b, a), 0.0))


def plausibility(node: Node, category: str) -> float:
    """How likely ``node`` is a ``category``: its size against the category's usual sizes."""
    ranges = CATEGORY_SIZES.get(category)
    return 1.0 if ranges is None else size_fit(ranges, node.element.dimensions_m)


def category_score(node: Node, ref: Referent, graph: SceneGraph) -> float:
    """How well ``node`` is what ``ref`` names, in [0, 1]. A categorised object counts by the
    weight of its category times how plausible its size is for it, and (with a classifier score)
    how sure the room stage was; an uncategorised one, or one whose category is implausible,
    stays a candidate for a common object ("bin") by its size and placement, and a weak one
    (at most 0.15) for a category of its size."""
    e = node.element
    if not e.is_object:
        return ref.categories.get(e.category, 0.0)
    sure = 1.0 if e.category == "unknown" else (e.score if e.score is not None else 1.0) * plausibility(node, e.category)
    if ref.common == "object":  # "the thing nearest the door": any object, a wall fixture hardly
        if e.label == FIXTURE_LABEL:
            return 0.1
        return 0.7 if e.category == "unknown" else 0.6 + 0.4 * sure
    if e.category == "unknown" and e.label and e.label != FIXTURE_LABEL and ref.common is not None:
        label = e.label.lower().replace(" ", "")
        if ref.common.replace(" ", "") in label or label in ref.common.replace(" ", ""):
            return 1.0  # its label names it ("whiteboard" for "the white board")
    if ref.common is not None:
        near_wall = min((rel.gap_xy(node.shape, w.shape) for w in graph.nodes if w.element.category == "wall"),
                        default=9.0)
        fit = common_fit(ref.common, e.dimensions_m, node.attributes.bottom_m, node.shape.thin, near_wall)
        if ref.common in COMMON_COLORS:  # a whiteboard is white: that colour's own share, no near names
            fit *= 0.1 + 0.9 * min(1.0, dict(node.attributes.colors).get(COMMON_COLORS[ref.common], 0.0) / 0.5)
        return 0.9 * fit * (1.0 - 0.8 * sure) if e.category != "unknown" else 0.9 * fit
    # another category, or none: room understanding confuses look-alikes (an oven for a dishwasher),
    # so an object the size of the target stays a weak candidate
    other = max((w * plausibility(node, c) for c, w in ref.categories.items() if c != e.category), default=0.0)
    if e.category == "unknown":
        return 0.15 * other
    w = ref.categories.get(e.category, 0.0)
    return max(w * (0.3 + 0.7 * sure), 0.15 * (1.0 - sure) * other)


def _color_factor(node: Node, colors: list[str]) -> tuple[float, list[str]]:
    f, why = 1.0, []
    for c in colors:
        if c in ("dark", "light"):
            L = node.attributes.lightness
            m = 1.0 / (1.0 + np.exp(-((50 - L) if c == "dark" else (L - 60)) / 8.0))
        else:
            m = min(1.0, sum(s * _color_sim(c, n) for n, s in node.attributes.colors) / 0.4)
        f *= 0.1 + 0.9 * m
        why.append(f"{c} {m:.2f}")
    return f, why


def _measure(node: Node, what: str) -> float:
    """Volume (m³; for a surface such as a window, its area), height of the top or length."""
    w, d, h = node.element.dimensions_m
    size = w * d * h if node.element.is_object and d >= 0.05 else w * h
    return {"volume": size, "height": node.attributes.top_m, "length": max(w, d)}[what]


def _size_factors(peers: list[Node], phrase: Phrase) -> dict[str, float]:
    """Factors for size adjectives and superlatives, judged among ``peers`` (the candidates that
    fit the target's name): the biggest of the peers is "big", one of one is neither."""
    out = {n.identifier: 1.0 for n in peers}
    for what, larger in phrase.sizes:
        if len(peers) < 2:
            break
        m = np.array([_measure(n, what) for n in peers])
        r = np.argsort(np.argsort(m if larger else -m)) / (len(peers) - 1)
        for n, ri in zip(peers, r):
            out[n.identifier] *= 0.35 + 0.65 * float(ri)
    if phrase.superlative and peers:
        what, larger = phrase.superlative
        m = np.array([_measure(n, what) for n in peers])
        best = m.max() if larger else m.min()
        relative = np.abs(best - m) / max(abs(best), 1e-6)
        for n, x in zip(peers, relative):
            out[n.identifier] *= float(np.exp(-x / 0.1))
    return out


def _shape_factor(node: Node, shape: str | None) -> float:
    if shape is None:
        return 1.0
    have = node.attributes.footprint_shape
    return 1.0 if have == shape else (0.5 if "irregular" in (have, shape) else 0.2)


class _Resolver:
    """Resolves phrases to weighted nodes, once per phrase."""

    def __init__(self, graph: SceneGraph, text_model) -> None:
        self.graph, self.text_model = graph, text_model
        self._memo: dict[str, list[tuple[Node, float]]] = {}

    def alias(self, node: Node) -> str:
        return self.graph.aliases[node.identifier]

    def referent(self, phrase: Phrase, verbs: list[str]) -> Referent:
        return resolve(phrase.words, verbs, self.text_model)

    def anchors(self, phrase: Phrase) -> list[tuple[Node, float]]:
        key = f"{phrase.words}|{phrase.colors}|{phrase.sizes}|{phrase.superlative}|{phrase.shape}"
        if key not in self._memo:
            ref = self.referent(phrase, [])
            scored = [(n, category_score(n, ref, self.graph)) for n in self.graph.nodes]
            scored = [(n, s) for n, s in scored if s > 0.05]
            if phrase.colors:
                scored = [(n, s * _color_factor(n, phrase.colors)[0]) for n, s in scored]
            if phrase.sizes or phrase.superlative:
                sf = _size_factors([n for n, _ in scored], phrase)
                scored = [(n, s * sf[n.identifier]) for n, s in scored]
            top = max((s for _, s in scored), default=0.0)
            self._memo[key] = [(n, s) for n, s in scored if s >= 0.5 * top and s > 0.05]
        return self._memo[key]


def _binary(pred: str, a: rel.Shape, b: rel.Shape, graph: SceneGraph) -> float:
    view = graph.viewpoint
    if pred == "near":
        return rel.near(a, b, 0.6)
    if pred == "next_to":
        return rel.near(a, b, 0.35)
    if pred == "on":
        return rel.on(a, b)
    if pred == "on_floor":  # "on the floor": standing on it
        return float(np.exp(-max(0.0, a.bottom - b.top - 0.05) / 0.1))
    if pred == "under":
        return rel.under(a, b)
    if pred == "above":
        return rel.above(a, b)
    if pred == "in_front_of":
        return rel.in_front_of(a, b)
    if pred == "behind":
        return rel.behind(a, b)
    if pred == "facing":
        return rel.facing(a, b)
    if pred == "opposite":
        return max(rel.facing(a, b), rel.facing(b, a), 0.5 * rel.near(a, b, 1.5))
    if pred == "end_of":
        return rel.at_end_of(a, b)
    if pred in ("left_of", "right_of"):  # beside it on that side: the nearer the better
        return rel.side_of(a, b, view, pred == "left_of") * rel.near(a, b, 1.5)
    raise ConfigError(f"unknown relation '{pred}'")


def _relation_factors(spec: RelationSpec, cands: list[Node], peers: list[Node], res: _Resolver,
                      graph: SceneGraph) -> dict[str, tuple[float, str]]:
    """Per candidate: the relation's score and a reason. Superlatives ("nearest", "leftmost")
    are judged among ``peers``."""
    p = spec.predicate
    out: dict[str, tuple[float, str]] = {}
    if p in ("corner", "middle", "by_wall", "on_wall", "left", "right"):
        walls = [n.shape for n in graph.nodes if n.element.category == "wall"]
        xs = {n.identifier: float((n.shape.center[:2] - graph.viewpoint.position) @ graph.viewpoint.right()) for n in cands}
        peer_x = [xs[n.identifier] for n in peers] or list(xs.values())
        for n in cands:
            s = n.shape
            if p == "corner":
                v = rel.in_corner(s, graph.corners)
            elif p == "middle":
                v = rel.centrality(s, graph.middle, graph.radius)
            elif p == "by_wall":
                v = max((rel.near(s, w, 0.25) for w in walls), default=0.0)
            elif p == "on_wall":
                v = max((rel.near(s, w, 0.1) for w in walls), default=0.0) * (1.0 if n.attributes.bottom_m > 0.3 else 0.3)
            else:
                beyond = xs[n.identifier] - min(peer_x) if p == "left" else max(peer_x) - xs[n.identifier]
                v = float(np.exp(-max(0.0, beyond) / 0.5))
            out[n.identifier] = (v, f"{p.replace('_', ' ')} {v:.2f}")
        return out
    if not spec.anchors:
        return out
    anchor_sets = [res.anchors(a) for a in spec.anchors]
    if any(not s for s in anchor_sets):
        return {n.identifier: (RELATION_FLOOR, f"no {spec.anchors[0].text} to be {p} of") for n in cands}
    if p == "between":
        for n in cands:
            best, why = 0.0, ""
            for (b, wb) in anchor_sets[0]:
                for (c, wc) in anchor_sets[1]:
                    if n in (b, c) or b is c:
                        continue
                    v = rel.between(n.shape, b.shape, c.shape) * wb * wc
                    if v > best:
                        best, why = v, f"between {res.alias(b)} and {res.alias(c)} {v:.2f}"
            out[n.identifier] = (best, why or "between nothing")
        return out
    anchors = anchor_sets[0]
    if p in ("nearest", "farthest"):  # judged among the peers: the candidates that fit the name well
        dist = {}
        for n in cands:
            ds = [(rel.gap(n.shape, a.shape), a) for a, _ in anchors if a is not n]
            dist[n.identifier] = min(ds, key=lambda x: (x[0], x[1].identifier)) if ds else (np.inf, None)
        finite = [dist[n.identifier][0] for n in peers if np.isfinite(dist[n.identifier][0])]
        if not finite:
            return out
        ref = min(finite) if p == "nearest" else max(finite)
        for n in cands:
            d, a = dist[n.identifier]
            if a is None:
                out[n.identifier] = (0.0, f"no {spec.anchors[0].text} besides itself")
                continue
            beyond = max(0.0, d - ref) if p == "nearest" else max(0.0, ref - d)
            v = float(np.exp(-beyond / (0.25 if p == "nearest" else 0.5)))
            out[n.identifier] = (v, f"{p} {res.alias(a)} ({d:.2f} m)")
        return out
    for n in cands:
        best, why = 0.0, ""
        for a, w in anchors:
            if a is n:
                continue
            pred = "on_floor" if p == "on" and a.element.category == "floor" else p
            v = _binary(pred, n.shape, a.shape, graph) * w
            if v > best or not why:
                best, why = v, f"{p.replace('_', ' ')} {res.alias(a)} {v:.2f}"
        out[n.identifier] = (best, why)
    return out


def _text_model(graph: SceneGraph):
    o = graph.options
    if o.text_model == "none":
        return None
    if "text_model" not in graph.cache:
        from .models.text import text_model

        graph.cache["text_model"] = text_model(o.text_model, o.text_model_path)
    return graph.cache["text_model"]


def load_models(graph: SceneGraph) -> None:
    """The text model and, when configured, the image–text model, loaded into ``graph.cache``."""
    _text_model(graph)
    o = graph.options
    if o.image_model is not None:
        from .models.image import image_text_model

        image_text_model(o.image_model, o.image_model_path)


def score_query(graph: SceneGraph, parsed: ParsedQuery) -> list[tuple[Node, float, list[str]]]:
    """Every node that fits at all, with its score and reasons, best first."""
    if not graph.options.attributes:
        from dataclasses import replace

        t = parsed.target
        parsed = replace(parsed, target=Phrase(t.words, [], [], None, None, t.count))
    if not graph.options.relations:
        from dataclasses import replace

        parsed = replace(parsed, relations=[])
    res = _Resolver(graph, _text_model(graph))
    target = res.referent(parsed.target, parsed.verbs)
    if target.empty and (parsed.target.colors or parsed.target.shape or parsed.relations):
        target = resolve(["thing"], [], None)  # "the green one": any object
    if target.empty:
        return []
    rows = []
    with_images = graph.options.image_model is not None
    for n in graph.nodes:
        s = category_score(n, target, graph)
        if with_images and n.element.category == "unknown":
            s = max(s, 0.02)  # its crops may still show the target
        if s > 0.01:
            rows.append([n, s, [f"{n.name} fits '{parsed.target.text or ' '.join(parsed.verbs)}' ({target.how}) {s:.2f}"]])
    if not rows:
        return []
    top = max(r[1] for r in rows)
    peers = [r[0] for r in rows if r[1] >= 0.5 * top]
    sizes = _size_factors(peers, parsed.target)
    for r in rows:
        n = r[0]
        if parsed.target.colors:
            f, why = _color_factor(n, parsed.target.colors)
            r[1] *= f
            r[2] += [f"colour {w}" for w in why]
        if parsed.target.sizes or parsed.target.superlative:
            f = sizes.get(n.identifier, 0.3)
            r[1] *= f
            r[2].append(f"size {f:.2f}")
        if parsed.target.shape:
            f = _shape_factor(n, parsed.target.shape)
            r[1] *= f
            r[2].append(f"{n.attributes.footprint_shape} footprint")
    cands = [r[0] for r in rows]
    # relations that hold or not first; superlatives ("nearest the door", "leftmost") then pick among
    # the candidates those left standing: "the chair at the end of the table nearest the door"
    ordered = sorted(parsed.relations, key=lambda spec: spec.predicate in _SUPERLATIVE)
    for spec in ordered:
        if spec.predicate in _SUPERLATIVE:
            best = max(r[1] for r in rows)
            peers = [r[0] for r in rows if r[1] >= 0.5 * best]
        factors = _relation_factors(spec, cands, peers, res, graph)
        for r in rows:
            v, why = factors.get(r[0].identifier, (1.0, ""))
            r[1] *= RELATION_FLOOR + (1 - RELATION_FLOOR) * v
            if why:
                r[2].append(why)
    for ident, (f, why) in _detector_factors(graph, parsed, cands).items():
        for r in rows:
            if r[0].identifier == ident:
                r[1] = min(1.0, r[1] * f)
                r[2].append(why)
    image = _image_factors(graph, parsed, cands)
    for r in rows:
        if r[0].identifier in image:
            f, why = image[r[0].identifier]
            r[1] *= f
            if r[0].element.category == "unknown":  # an uncategorised object can be found by its crops alone
                r[1] = max(r[1], 0.6 * (f - 0.5))
            r[2].append(why)
    rows.sort(key=lambda r: (-r[1], r[0].identifier))
    return [(n, float(s), why) for n, s, why in rows]


def _image_factors(graph: SceneGraph, parsed: ParsedQuery, cands: list[Node]) -> dict[str, tuple[float, str]]:
    """With an image–text model: per object with keyframe views, 0.5–1.5 by how its fused crop
    features rank against the target phrase among the candidates (z-score through a logistic);
    an uncategorised object scores at least 0.6 x (factor − 0.5) from its crops alone."""
    o = graph.options
    if o.image_model is None or graph.scene is None or not getattr(graph.scene, "keyframes", None):
        return {}
    from .crops import fused_image_features
    from .models.image import image_text_model

    model = image_text_model(o.image_model, o.image_model_path)
    objs = [n for n in cands if n.element.is_object]
    feats = fused_image_features(graph.scene, [n.element for n in objs], model, max_views=o.max_views)
    have = [n for n in objs if n.identifier in feats]
    if len(have) < 2:
        return {}
    phrase = parsed.target.describe() or " ".join(parsed.verbs) or "object"
    t = model.embed_texts([f"a photo of a {phrase}"])[0]
    sims = np.array([float(feats[n.identifier] @ t) for n in have])
    z = (sims - sims.mean()) / max(float(sims.std()), 1e-6)
    return {n.identifier: (float(0.5 + 1.0 / (1.0 + np.exp(-zi))), f"image {s:.3f}") for n, zi, s in zip(have, z, sims)}


def _detector_factors(graph: SceneGraph, parsed: ParsedQuery, cands: list[Node]) -> dict[str, tuple[float, str]]:
    """With a detector: the target phrase detected on the keyframes and lifted to 3D; a
    candidate whose box holds a detection's centre (within 10 cm) gains 1 + its score."""
    o = graph.options
    if o.detector is None or graph.scene is None or not getattr(graph.scene, "keyframes", None):
        return {}
    from ..scene.shapes import box_point_distance
    from .crops import detections_3d
    from .models.detect import detector

    phrase = parsed.target.describe() or " ".join(parsed.verbs)
    if not phrase:
        return {}
    key = ("detections", o.detector, o.detector_path, phrase)
    if key not in graph.cache:
        graph.cache[key] = detections_3d(graph.scene, [phrase], detector(o.detector, o.detector_path))
    out: dict[str, tuple[float, str]] = {}
    for d in graph.cache[key]:
        for n in cands:
            e = n.element
            if box_point_distance(np.array([d.center_m]), e.T_world_element, e.dimensions_m)[0] <= 0.1:
                f = 1.0 + d.score
                if f > out.get(n.identifier, (0.0, ""))[0]:
                    out[n.identifier] = (f, f"detected '{d.phrase}' {d.score:.2f} in keyframe {d.keyframe}")
    return out


def run_query(graph: SceneGraph, text: str, top_k: int = 5) -> list[QueryHit]:
    """The ``top_k`` best hits for ``text`` (see the module docstring); an empty or blank query
    raises :class:`~sensors.errors.ConfigError`; a query naming nothing in the room gives []."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("the query is empty: say what to look for, e.g. 'the chair nearest the door'")
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {top_k}")
    ranked = score_query(graph, parse(text))[:top_k]
    return [QueryHit(n.element, min(1.0, s), tuple(why), _keyframe(graph, n)) for n, s, why in ranked]


def _keyframe(graph: SceneGraph, node: Node) -> int | None:
    scene = graph.scene
    if scene is None or not getattr(scene, "keyframes", None):
        return None
    key = ("keyframe", node.identifier)
    if key not in graph.cache:
        from .crops import best_keyframe

        graph.cache[key] = best_keyframe(scene, node.element)
    return graph.cache[key]
