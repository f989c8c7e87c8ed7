"""Names → what they can refer to: a noun phrase or a purpose becomes weights over categories
(RoomPlan's 16 and the structural ones) or a common object outside them ("bin", "whiteboard").

Exact lexicon entries (:data:`~spatial.grounding.vocab.NAMES`) win; words the lexicon does not
know are compared with each category's description by the text model, and a similarity is
turned into a weight by a fixed ramp (0 at cosine 0.3, 1 at 0.65).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .vocab import (
    AFFORDANCES,
    COMMON_OBJECTS,
    DESCRIPTIONS,
    GENERIC,
    GROUPS,
    NAMES,
    PURPOSE_MARKERS,
    SYNONYMS_OF_COMMON,
    size_fit,
)

_LEXICON: dict[tuple[str, ...], str] = {}
for _cat, _names in NAMES.items():
    for _n in _names:
        _LEXICON[tuple(_n.split())] = _cat
_COMMON: dict[tuple[str, ...], str] = {tuple(n.split()): n for n in COMMON_OBJECTS} | {
    (k,): v for k, v in SYNONYMS_OF_COMMON.items()}
_GROUPS = {tuple(k.split()): v for k, v in GROUPS.items()}


@dataclass
class Referent:
    """What a phrase can mean: ``categories`` (category → weight in [0, 1]), ``common`` (a
    name of :data:`~spatial.grounding.vocab.COMMON_OBJECTS`, or None), ``how`` (a short reason:
    "lexicon", "purpose", "text model 0.71", "any object")."""

    categories: dict[str, float] = field(default_factory=dict)
    common: str | None = None
    how: str = ""

    @property
    def empty(self) -> bool:
        return not self.categories and self.common is None


def _ngrams(words: list[str]) -> list[tuple[int, int]]:
    return sorted(((i, j) for i in range(len(words)) for j in range(i + 1, min(len(words), i + 4) + 1)),
                  key=lambda ij: (ij[0] - ij[1], -ij[1]))  # longest, then rightmost (the head noun)


def resolve(words: list[str], verbs: list[str], text_model=None) -> Referent:
    """The referent of a phrase's content ``words`` (and the query's purpose ``verbs``). A
    purpose query ("somewhere to sit", "something to put my laptop on") is resolved by its
    purpose even when it names a thing."""
    nouns = [w for w in words if w not in PURPOSE_MARKERS]
    purpose = bool(verbs) and (not words or words[0] in PURPOSE_MARKERS)
    if verbs and (purpose or not nouns):
        return _purpose(verbs)
    for i, j in _ngrams(nouns):  # the lexicon, longest match, the last noun of a phrase first
        key = tuple(nouns[i:j])
        if key in _GROUPS:
            return Referent({c: 1.0 for c in _GROUPS[key]}, None, "lexicon")
        if key in _COMMON:
            return Referent({}, _COMMON[key], "lexicon")
        if key in _LEXICON:
            return Referent({_LEXICON[key]: 1.0}, None, "lexicon")
    if any(w in GENERIC for w in words):
        return Referent({c: 1.0 for c in NAMES if c not in ("wall", "floor", "door", "window", "opening")},
                        "object", "any object")
    if verbs:
        return _purpose(verbs)
    if not nouns or text_model is None:
        return Referent()
    return _by_text(" ".join(nouns), text_model)


def _purpose(verbs: list[str]) -> Referent:
    """Purposes add up: "keep food cold" is the refrigerator's 2.3 against storage's 0.8."""
    cats: dict[str, float] = {}
    for v in verbs:
        for c, w in AFFORDANCES[v].items():
            cats[c] = cats.get(c, 0.0) + w
    if not cats:
        return Referent()
    top = max(cats.values())
    how = f"purpose '{' '.join(verbs)}'"
    best = min((c for c in cats if cats[c] == top), key=str)
    if best in COMMON_OBJECTS:  # "something to draw on": a whiteboard, which RoomPlan has no category for
        return Referent({c: round(w / top, 3) for c, w in cats.items() if c not in COMMON_OBJECTS}, best, how)
    return Referent({c: round(w / top, 3) for c, w in cats.items() if c not in COMMON_OBJECTS}, None, how)


def _by_text(phrase: str, text_model) -> Referent:
    labels = list(DESCRIPTIONS) + list(COMMON_OBJECTS)
    texts = [DESCRIPTIONS[c] for c in DESCRIPTIONS] + [f"a {n}" for n in COMMON_OBJECTS]
    e = text_model.embed([f"a {phrase}", *texts])
    sims = e[1:] @ e[0]
    best = int(np.argmax(sims))
    if best >= len(DESCRIPTIONS):
        return Referent({}, labels[best], f"text model {sims[best]:.2f}") if sims[best] >= 0.45 else Referent()
    weights = np.clip((sims[: len(DESCRIPTIONS)] - 0.3) / 0.35, 0.0, 1.0)
    cats = {c: round(float(w), 3) for c, w in zip(DESCRIPTIONS, weights) if w > 0.05}
    return Referent(cats, None, f"text model {sims[best]:.2f}") if cats else Referent()


def common_fit(name: str, size_m: tuple[float, float, float], bottom_m: float, thin: bool, near_wall_m: float) -> float:
    """How well a box fits the common object ``name``: its size inside the usual ranges
    (:func:`~spatial.grounding.vocab.size_fit`) and its placement (floor: bottom under 10 cm;
    wall: thin and within 15 cm of a wall; top: raised 30 cm or more)."""
    (rw, rd, rh), place = COMMON_OBJECTS[name]
    ranges = ((max(rw[0], rd[0]), max(rw[1], rd[1])), (min(rw[0], rd[0]), min(rw[1], rd[1])), rh)
    fit = size_fit(ranges, size_m)
    if place == "floor":
        fit *= float(np.exp(-max(0.0, bottom_m - 0.1) / 0.1))
    elif place == "wall":
        fit *= (1.0 if thin else 0.3) * float(np.exp(-max(0.0, near_wall_m - 0.15) / 0.15))
    else:
        fit *= float(np.exp(-max(0.0, 0.3 - bottom_m) / 0.1))
    return fit
