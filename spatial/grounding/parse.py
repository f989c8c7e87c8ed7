"""Rules that turn a room query into what to look for: a target, its attributes and its relations.

``"the black chair in the corner"`` → target "chair", colour black, relation in-corner;
``"somewhere to sit"`` → purpose "sit"; ``"this is a brown chair. it is at the end of the table,
closest to the door."`` (ScanRefer's style) → target "chair", colour brown, at-end-of "table",
nearest "door". The first sentence names the target; later sentences ("it is …") add attributes
and relations to it. Relation words are found longest first; the words after one, up to the next
relation word or the end of the clause, name its anchor. Resolving names to categories (lexicon,
then the text model) is :mod:`spatial.grounding.resolve`'s job: this module only splits text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .colors import COLOR_WORDS
from .vocab import SHAPE_WORDS, SIZE_WORDS, STOP_WORDS, SUPERLATIVES

#: relation phrases → predicate; unary predicates take no anchor
RELATION_PHRASES: dict[str, str] = {
    "next to": "next_to", "close to": "near", "near to": "near", "near": "near", "nearby": "near", "by": "next_to",
    "beside": "next_to", "besides": "next_to", "alongside": "next_to", "against": "next_to", "adjacent to": "next_to",
    "right by": "next_to", "right next to": "next_to", "around": "near", "at": "near", "with": "near",
    "nearest to": "nearest", "nearest": "nearest", "closest to": "nearest", "closest": "nearest",
    "nearer to": "nearest", "closer to": "nearest", "furthest from": "farthest", "farthest from": "farthest",
    "furthest": "farthest", "farthest": "farthest", "away from": "farthest", "far from": "farthest",
    "on top of": "on", "on": "on", "upon": "on", "atop": "on", "resting on": "on",
    "under": "under", "underneath": "under", "below": "under", "beneath": "under",
    "above": "above", "over": "above",
    "between": "between", "in between": "between",
    "in front of": "in_front_of", "before": "in_front_of", "behind": "behind", "in back of": "behind",
    "facing": "facing", "faces": "facing", "face": "facing", "looking at": "facing", "pointing at": "facing",
    "turned towards": "facing", "opposite": "opposite", "opposite to": "opposite", "opposite of": "opposite",
    "across from": "opposite", "across the room from": "opposite",
    "at the end of": "end_of", "at the head of": "end_of", "at the foot of": "end_of", "at one end of": "end_of",
    "on the end of": "end_of", "at the short side of": "end_of", "at the far end of": "end_of",
    "at the other end of": "end_of", "at the near end of": "end_of",
    "from": "farthest",  # "at the far end of the table from the door" ("as seen from" sets the view first)
    "left of": "left_of", "to the left of": "left_of", "on the left of": "left_of", "on the left side of": "left_of",
    "right of": "right_of", "to the right of": "right_of", "on the right of": "right_of",
    "on the right side of": "right_of",
    # unary: the phrase is the whole relation
    "in the corner": "corner", "in a corner": "corner", "in the corner of the room": "corner",
    "into the corner": "corner", "cornered": "corner",
    "in the middle": "middle", "in the middle of the room": "middle", "in the center": "middle",
    "in the centre": "middle", "in the center of the room": "middle", "in the centre of the room": "middle",
    "in the room's center": "middle",
    "on the left": "left", "on the left side": "left", "to the left": "left", "on your left": "left",
    "leftmost": "left", "left-most": "left",
    "on the right": "right", "on the right side": "right", "to the right": "right", "on your right": "right",
    "rightmost": "right", "right-most": "right",
    "against the wall": "by_wall", "along the wall": "by_wall", "by the wall": "by_wall",
    "next to the wall": "by_wall", "near the wall": "by_wall", "on the wall": "on_wall",
    "hanging on the wall": "on_wall", "mounted on the wall": "on_wall",
}
UNARY = frozenset({"corner", "middle", "left", "right", "by_wall", "on_wall"})
_PHRASES = sorted(((tuple(p.split()), r) for p, r in RELATION_PHRASES.items()), key=lambda x: -len(x[0]))
#: words naming the speaker's view: "as seen from the door", "from the entrance"
VIEW_MARKERS = (("as", "seen", "from"), ("seen", "from"), ("viewed", "from"), ("looking", "from"),
                ("as", "you", "enter"), ("when", "you", "enter"), ("as", "you", "walk", "in"),
                ("if", "you", "stand", "at"), ("standing", "at"), ("facing", "the", "room"))


@dataclass
class Phrase:
    """A noun phrase: its content ``words`` (singular, no stop words), ``colors`` (names of
    :data:`~spatial.grounding.colors.COLOR_NAMES`, plus "dark"/"light"), ``sizes`` ((measure,
    larger) of size adjectives), ``superlative`` (measure, larger) or None, ``shape`` and
    ``count`` (2 for "the two chairs")."""

    words: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    sizes: list[tuple[str, bool]] = field(default_factory=list)
    superlative: tuple[str, bool] | None = None
    shape: str | None = None
    count: int = 1

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def describe(self) -> str:
        """The phrase as words again ("red round table"), for an image–text model's prompt."""
        return " ".join([*self.colors, *([self.shape] if self.shape else []), self.text]).strip()


@dataclass
class RelationSpec:
    """``predicate`` (a value of :data:`RELATION_PHRASES`) with its anchors (none for unary
    predicates, two for "between", one otherwise)."""

    predicate: str
    anchors: list[Phrase] = field(default_factory=list)


@dataclass
class ParsedQuery:
    """The ``target`` phrase, the purpose ``verbs`` of the query (for "somewhere to sit"),
    ``relations`` on the target, and ``from_entrance`` when the query names the entrance as
    the point of view for left/right."""

    text: str
    target: Phrase
    verbs: list[str]
    relations: list[RelationSpec]
    from_entrance: bool = False


_NUMBERS = {"two": 2, "both": 2, "pair": 2, "three": 3}


def _tokens(text: str) -> list[list[str]]:
    """Sentences (split at . ; ! ? and newlines) of lower-case word tokens."""
    text = text.lower().replace("’", "'").replace("l shaped", "l-shaped")
    out = []
    for sentence in re.split(r"[.;!?\n]+", text):
        words = re.findall(r"[a-z0-9][a-z0-9'\-]*|,", sentence)
        words = [w[:-2] if w.endswith("'s") else w for w in words]
        if any(w != "," for w in words):
            out.append(words)
    return out


def _phrase(words: list[str]) -> Phrase:
    """The noun phrase in ``words`` (adjectives taken out, stop words dropped)."""
    from .vocab import singular

    p = Phrase()
    for w in words:
        if w == ",":
            continue
        if w in COLOR_WORDS and w not in ("light",):
            p.colors.append(COLOR_WORDS[w])
        elif w == "light":
            p.colors.append("light")
        elif w in SUPERLATIVES:
            p.superlative = SUPERLATIVES[w]
        elif w in SIZE_WORDS:
            p.sizes.append(SIZE_WORDS[w])
        elif w in SHAPE_WORDS and w != "corner":
            p.shape = SHAPE_WORDS[w]
        elif w in _NUMBERS:
            p.count = _NUMBERS[w]
        elif w not in STOP_WORDS and not w.isdigit():
            p.words.append(singular(w))
    return p


def _match(words: list[str], i: int) -> tuple[int, str] | None:
    for phrase, rel in _PHRASES:
        if tuple(words[i:i + len(phrase)]) == phrase:
            return len(phrase), rel
    return None


def _clauses(words: list[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(words before the first relation, [(predicate, anchor words)]) of one sentence."""
    head: list[str] = []
    rels: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(words):
        m = _match(words, i)
        if m is not None and not (m[1] == "near" and words[i] in ("at", "with") and not rels and not head):
            n, rel = m
            rels.append((rel, []))
            i += n
            continue
        w = words[i]
        if rels:
            if w in (",", "while", "when", "because", "if", "so", "since", "as") or (w == "and" and rels[-1][0] != "between"):
                rels.append(("", []))  # a clause break: following words are no anchor
            else:
                rels[-1][1].append(w)
        else:
            head.append(w)
        i += 1
    return head, [(r, a) for r, a in rels if r]


def _relation(pred: str, words: list[str]) -> RelationSpec | None:
    if pred in UNARY:
        return RelationSpec(pred)
    if pred == "between":
        if "and" in words:
            k = words.index("and")
            return RelationSpec(pred, [_phrase(words[:k]), _phrase(words[k + 1:])])
        p = _phrase(words)
        return RelationSpec(pred, [p, p]) if p.words else None
    p = _phrase(words)
    if not p.words:
        return None
    if p.words in (["wall"],) and pred in ("next_to", "near"):
        return RelationSpec("by_wall")
    if p.words == ["room"] and pred in ("near", "in_front_of"):
        return None
    return RelationSpec(pred, [p])


def parse(text: str) -> ParsedQuery:
    """Split ``text`` into target, purpose verbs and relations (see the module docstring)."""
    from .vocab import AFFORDANCES

    sentences = _tokens(text)
    target, verbs, relations, from_entrance = Phrase(), [], [], False
    for k, words in enumerate(sentences):
        for marker in VIEW_MARKERS:
            for i in range(len(words) - len(marker) + 1):
                if tuple(words[i:i + len(marker)]) == marker:
                    from_entrance = True
                    words = words[:i]  # the rest names the viewpoint, not the target
                    break
        head, rels = _clauses(words)
        h = _phrase(head)
        verbs += [w for w in h.words if w in AFFORDANCES]
        if k == 0 or not target.words:
            h.words = [w for w in h.words if w not in AFFORDANCES or w in ("light",)] if verbs else h.words
            target = Phrase(h.words or target.words, target.colors + h.colors, target.sizes + h.sizes,
                            h.superlative or target.superlative, h.shape or target.shape, h.count)
        else:  # "it is brown and round": attributes of the target
            target.colors += h.colors
            target.sizes += h.sizes
            target.superlative = target.superlative or h.superlative
            target.shape = target.shape or h.shape
        for pred, anchor_words in rels:
            r = _relation(pred, anchor_words)
            if r is not None:
                relations.append(r)
                for a in r.anchors:
                    verbs += [w for w in a.words if w in AFFORDANCES and w in ("sit", "sleep")]
    return ParsedQuery(text, target, sorted(set(verbs), key=verbs.index), relations, from_entrance)
