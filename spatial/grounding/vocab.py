"""The words of room queries: names of RoomPlan's categories and structure, affordances, and
common objects outside RoomPlan's 16 categories with their usual sizes.

Lexicon matches are exact (after lower-casing and singularising); anything else is matched by
the text model's similarity to the descriptions in :data:`DESCRIPTIONS`. Weights in
:data:`AFFORDANCES` say how well a category serves the purpose (a bed will do to sit on, less
well than a chair).
"""

from __future__ import annotations

#: names people use for each category (the category's own name first)
NAMES: dict[str, tuple[str, ...]] = {
    "bathtub": ("bathtub", "bath", "tub", "bath tub"),
    "bed": ("bed", "double bed", "single bed", "mattress", "bunk"),
    "chair": ("chair", "stool", "armchair", "dining chair", "office chair", "desk chair"),
    "dishwasher": ("dishwasher", "dish washer"),
    "fireplace": ("fireplace", "fire place", "hearth", "mantel", "mantelpiece", "chimney"),
    "oven": ("oven", "microwave"),
    "refrigerator": ("refrigerator", "fridge", "freezer", "icebox"),
    "sink": ("sink", "basin", "washbasin", "wash basin", "tap", "faucet"),
    "sofa": ("sofa", "couch", "settee", "loveseat", "love seat", "sectional", "futon"),
    "stairs": ("stairs", "staircase", "stair", "steps", "stairway", "step"),
    "storage": ("storage", "cabinet", "cupboard", "shelf", "shelves", "shelving", "bookshelf", "bookcase",
                "wardrobe", "closet", "dresser", "drawers", "chest of drawers", "sideboard", "cabinet unit",
                "storage unit", "nightstand", "night stand", "bedside table", "locker", "rack"),
    "stove": ("stove", "cooker", "hob", "range", "cooktop", "stovetop", "burner"),
    "table": ("table", "desk", "dining table", "coffee table", "side table", "counter", "workbench", "bench"),
    "television": ("television", "tv", "telly", "screen", "monitor", "tv screen", "display"),
    "toilet": ("toilet", "loo", "wc", "lavatory", "commode"),
    "washerDryer": ("washerdryer", "washer", "dryer", "washing machine", "washer dryer", "tumble dryer",
                    "laundry machine"),
    "wall": ("wall", "walls", "partition"),
    "door": ("door", "doorway", "entrance", "entry", "exit", "way out", "way in"),
    "window": ("window", "windows", "pane"),
    "opening": ("opening", "passage", "archway", "arch", "gap in the wall"),
    "floor": ("floor", "ground"),
}

#: names of a group of categories (any member fits fully)
GROUPS: dict[str, tuple[str, ...]] = {
    "seat": ("chair", "sofa"), "seating": ("chair", "sofa"),
    "appliance": ("dishwasher", "oven", "refrigerator", "stove", "washerDryer"),
    "kitchen appliance": ("dishwasher", "oven", "refrigerator", "stove"),
    "furniture": ("bed", "chair", "sofa", "storage", "table"),
    "piece of furniture": ("bed", "chair", "sofa", "storage", "table"),
}
#: words for "any object" (uncategorised ones included, wall fixtures hardly)
GENERIC = ("object", "thing", "item", "stuff", "something", "anything")

#: purposes → categories serving them, with how well (0–1)
AFFORDANCES: dict[str, dict[str, float]] = {
    "sit": {"chair": 1.0, "sofa": 1.0, "bed": 0.5, "stairs": 0.2, "toilet": 0.2},
    "sleep": {"bed": 1.0, "sofa": 0.5},
    "lie": {"bed": 1.0, "sofa": 0.7},
    "nap": {"bed": 0.9, "sofa": 0.9},
    "rest": {"sofa": 0.9, "bed": 0.9, "chair": 0.6},
    "relax": {"sofa": 1.0, "bed": 0.7, "chair": 0.5},
    "cook": {"stove": 1.0, "oven": 0.9},
    "bake": {"oven": 1.0, "stove": 0.4},
    "heat": {"oven": 0.8, "stove": 0.8, "fireplace": 0.6},
    "cold": {"refrigerator": 1.0},
    "chill": {"refrigerator": 1.0},
    "fresh": {"refrigerator": 0.7, "window": 0.5},
    "food": {"refrigerator": 0.8, "table": 0.4, "stove": 0.5, "oven": 0.5},
    "drink": {"refrigerator": 0.8, "sink": 0.5},
    "eat": {"table": 1.0},
    "dine": {"table": 1.0},
    "work": {"table": 1.0, "chair": 0.3},
    "write": {"table": 1.0, "whiteboard": 0.6},
    "study": {"table": 1.0, "chair": 0.4},
    "put": {"table": 0.8, "storage": 0.7},
    "place": {"table": 0.8, "storage": 0.6},
    "wash": {"sink": 1.0, "washerDryer": 0.6, "bathtub": 0.6, "dishwasher": 0.5},
    "hands": {"sink": 1.0},
    "dishes": {"dishwasher": 1.0, "sink": 0.7},
    "laundry": {"washerDryer": 1.0},
    "clothes": {"washerDryer": 0.8, "storage": 0.7},
    "bathe": {"bathtub": 1.0},
    "shower": {"bathtub": 0.9},
    "soak": {"bathtub": 1.0},
    "watch": {"television": 1.0},
    "movie": {"television": 1.0},
    "news": {"television": 0.8},
    "store": {"storage": 1.0, "refrigerator": 0.3},
    "keep": {"storage": 0.8, "refrigerator": 0.5},
    "away": {"storage": 1.0},
    "rinse": {"sink": 1.0},
    "draw": {"whiteboard": 1.0, "table": 0.3},
    "diagram": {"whiteboard": 1.0},
    "present": {"whiteboard": 0.8, "television": 0.6},
    "brush": {"sink": 0.9},
    "shave": {"sink": 0.9},
    "fill": {"sink": 0.7},
    "dry": {"washerDryer": 0.9},
    "read": {"chair": 0.6, "sofa": 0.6, "bed": 0.4},
    "hang": {"storage": 0.8},
    "tidy": {"storage": 1.0},
    "laptop": {"table": 1.0},
    "coffee": {"table": 0.8},
    "cup": {"table": 0.8},
    "vegetable": {"refrigerator": 1.0},
    "milk": {"refrigerator": 1.0},
    "books": {"storage": 1.0, "table": 0.3},
    "toys": {"storage": 0.8},
    "hide": {"storage": 0.5},
    "upstairs": {"stairs": 1.0},
    "downstairs": {"stairs": 1.0},
    "climb": {"stairs": 1.0},
    "warm": {"fireplace": 1.0},
    "fire": {"fireplace": 1.0},
    "pee": {"toilet": 1.0},
    "flush": {"toilet": 1.0},
    "bathroom": {"toilet": 0.8, "bathtub": 0.6, "sink": 0.6},
    "leave": {"door": 1.0, "opening": 0.4},
    "enter": {"door": 1.0, "opening": 0.4},
    "outside": {"window": 0.8, "door": 0.7},
    "daylight": {"window": 1.0},
    "light": {"window": 0.4},
    "view": {"window": 0.9, "television": 0.3},
    "air": {"window": 0.8},
}
#: words that mark a query as a purpose rather than a thing ("somewhere to sit")
PURPOSE_MARKERS = ("somewhere", "something", "anything", "place", "where", "thing", "spot", "use", "for", "can",
                   "could", "want", "need", "to")

#: objects outside RoomPlan's 16 categories: usual (width, depth, height) ranges in metres and
#: whether they stand on the floor ("floor"), hang on a wall ("wall") or sit on furniture ("top")
COMMON_OBJECTS: dict[str, tuple[tuple[tuple[float, float], tuple[float, float], tuple[float, float]], str]] = {
    "bin": (((0.2, 0.5), (0.2, 0.5), (0.2, 0.8)), "floor"),
    "trash can": (((0.2, 0.5), (0.2, 0.5), (0.2, 0.8)), "floor"),
    "wastebasket": (((0.2, 0.5), (0.2, 0.5), (0.2, 0.6)), "floor"),
    "box": (((0.2, 0.8), (0.2, 0.6), (0.1, 0.6)), "floor"),
    "bag": (((0.2, 0.7), (0.1, 0.4), (0.2, 0.7)), "floor"),
    "backpack": (((0.25, 0.45), (0.12, 0.3), (0.35, 0.55)), "floor"),
    "lamp": (((0.2, 0.5), (0.2, 0.5), (0.3, 1.8)), "floor"),
    "plant": (((0.2, 0.8), (0.2, 0.8), (0.2, 1.8)), "floor"),
    "whiteboard": (((0.45, 3.0), (0.0, 0.1), (0.3, 1.5)), "wall"),
    "blackboard": (((0.45, 3.0), (0.0, 0.1), (0.3, 1.5)), "wall"),
    "board": (((0.3, 3.0), (0.0, 0.1), (0.3, 1.5)), "wall"),
    "picture": (((0.2, 1.5), (0.0, 0.1), (0.2, 1.2)), "wall"),
    "painting": (((0.2, 1.5), (0.0, 0.1), (0.2, 1.2)), "wall"),
    "mirror": (((0.3, 1.5), (0.0, 0.1), (0.4, 1.8)), "wall"),
    "radiator": (((0.4, 1.6), (0.05, 0.15), (0.3, 0.9)), "wall"),
    "curtain": (((0.5, 3.0), (0.0, 0.2), (1.0, 2.6)), "wall"),
    "laptop": (((0.25, 0.4), (0.2, 0.3), (0.01, 0.3)), "top"),
    "computer": (((0.15, 0.6), (0.15, 0.6), (0.1, 0.6)), "top"),
    "printer": (((0.3, 0.6), (0.3, 0.6), (0.15, 0.5)), "top"),
    "cushion": (((0.3, 0.6), (0.1, 0.3), (0.3, 0.6)), "top"),
    "pillow": (((0.4, 0.8), (0.1, 0.3), (0.3, 0.6)), "top"),
    "ottoman": (((0.4, 0.9), (0.4, 0.9), (0.3, 0.5)), "floor"),
    "rug": (((0.6, 3.0), (0.6, 3.0), (0.0, 0.03)), "floor"),
    "suitcase": (((0.35, 0.55), (0.2, 0.35), (0.5, 0.8)), "floor"),
    "fan": (((0.3, 0.6), (0.3, 0.6), (0.3, 1.4)), "floor"),
    "heater": (((0.3, 0.8), (0.15, 0.4), (0.3, 0.8)), "floor"),
    "speaker": (((0.15, 0.4), (0.15, 0.4), (0.2, 1.1)), "floor"),
}
#: the colour a common object usually has, where it defines it
COMMON_COLORS = {"whiteboard": "white", "blackboard": "black"}
SYNONYMS_OF_COMMON = {"trash": "bin", "trashcan": "bin", "garbage": "bin", "rubbish": "bin", "waste": "bin",
                      "wastebin": "bin", "dustbin": "bin", "recycling": "bin", "wastepaper": "bin"}

#: text-model descriptions of each category (what a free-form noun is compared with)
DESCRIPTIONS: dict[str, str] = {
    "bathtub": "a bathtub to take a bath", "bed": "a bed to sleep on", "chair": "a chair to sit on",
    "dishwasher": "a dishwasher for dirty dishes", "fireplace": "a fireplace with a fire",
    "oven": "an oven to bake food", "refrigerator": "a refrigerator that keeps food cold",
    "sink": "a sink with a tap to wash hands", "sofa": "a sofa or couch in the living room",
    "stairs": "stairs going up", "storage": "a storage cabinet, shelf or wardrobe",
    "stove": "a stove to cook on", "table": "a table or desk", "television": "a television screen",
    "toilet": "a toilet", "washerDryer": "a washing machine for laundry", "wall": "a wall of the room",
    "door": "a door to enter the room", "window": "a window to look outside", "opening": "an opening in a wall",
    "floor": "the floor of the room",
}

#: size words → (which measure, larger is True)
SIZE_WORDS: dict[str, tuple[str, bool]] = {
    "big": ("volume", True), "large": ("volume", True), "huge": ("volume", True), "bigger": ("volume", True),
    "larger": ("volume", True), "small": ("volume", False), "little": ("volume", False),
    "tiny": ("volume", False), "smaller": ("volume", False), "tall": ("height", True), "high": ("height", True),
    "taller": ("height", True), "short": ("height", False), "low": ("height", False), "shorter": ("height", False),
    "long": ("length", True), "longer": ("length", True), "wide": ("length", True), "wider": ("length", True),
    "narrow": ("length", False), "narrower": ("length", False),
}
SUPERLATIVES: dict[str, tuple[str, bool]] = {
    "biggest": ("volume", True), "largest": ("volume", True), "smallest": ("volume", False),
    "tallest": ("height", True), "highest": ("height", True), "shortest": ("height", False),
    "lowest": ("height", False), "longest": ("length", True), "widest": ("length", True),
    "narrowest": ("length", False),
}
SHAPE_WORDS = {"round": "round", "circular": "round", "oval": "round", "square": "rectangular",
               "rectangular": "rectangular", "l-shaped": "L-shaped", "corner": "L-shaped"}
STOP_WORDS = frozenset(
    ["the", "a", "an", "this", "that", "it", "is", "its", "it's", "there", "here", "which", "one", "ones", "of", "please", "find", "show", "me", "where", "i", "to", "be", "looking", "look", "for", "get", "my", "your", "some", "any", "can", "could", "would", "should", "what", "who", "whose", "located", "placed", "sitting", "standing", "stands", "sits", "lies", "lying", "pushed", "set", "kept", "and", "also", "very", "quite", "with",
     # parts and sides name where on an anchor, not a thing: "on both sides of it"
     "side", "sides", "end", "ends", "edge", "part", "top", "bottom", "front", "back", "them", "both", "down"]
)


def singular(word: str) -> str:
    """A plural noun's singular by the usual English endings (chairs → chair, shelves → shelf)."""
    if word in ("stairs", "glass", "dishes", "drawers", "clothes", "news", "windows", "walls", "shelves"):
        return {"windows": "window", "walls": "wall", "shelves": "shelf"}.get(word, word)
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word

#: broad real-world (longer side, shorter side, height) ranges of RoomPlan's objects, metres: how
#: plausible a box is for its category (a "chair" 37 cm tall is more likely something else)
CATEGORY_SIZES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "bathtub": ((1.2, 2.0), (0.6, 1.0), (0.4, 0.7)), "bed": ((1.8, 2.3), (0.8, 2.1), (0.3, 1.3)),
    "chair": ((0.4, 0.9), (0.35, 0.9), (0.65, 1.3)), "dishwasher": ((0.45, 0.65), (0.45, 0.65), (0.8, 0.9)),
    "fireplace": ((0.8, 2.0), (0.25, 0.8), (0.8, 1.5)), "oven": ((0.45, 0.9), (0.4, 0.7), (0.3, 1.0)),
    "refrigerator": ((0.5, 1.0), (0.5, 0.9), (1.2, 2.1)), "sink": ((0.4, 1.2), (0.35, 0.7), (0.8, 1.2)),
    "sofa": ((1.2, 3.2), (0.7, 1.8), (0.6, 1.1)), "stairs": ((0.8, 4.0), (0.6, 1.4), (0.4, 3.5)),
    "storage": ((0.3, 2.5), (0.25, 0.7), (0.4, 2.4)), "stove": ((0.45, 1.0), (0.45, 0.7), (0.8, 1.0)),
    "table": ((0.5, 3.0), (0.4, 1.5), (0.35, 1.1)), "television": ((0.5, 2.0), (0.03, 0.6), (0.3, 1.6)),
    "toilet": ((0.45, 0.85), (0.3, 0.55), (0.6, 0.9)), "washerDryer": ((0.5, 0.7), (0.45, 0.7), (0.8, 0.95)),
}


def band_fit(x: float, lo: float, hi: float) -> float:
    """1 inside [lo, hi], falling off outside with a slack of 15 % of ``hi`` (+2 cm)."""
    import math

    return math.exp(-max(0.0, lo - x, x - hi) / (0.15 * hi + 0.02))


def size_fit(ranges: tuple[tuple[float, float], tuple[float, float], tuple[float, float]],
             dims_m: tuple[float, float, float]) -> float:
    """How well a box of ``dims_m`` (width, depth, height) fits (longer side, shorter side,
    height) ``ranges``: the product of the three :func:`band_fit`."""
    w, d = max(dims_m[0], dims_m[1]), min(dims_m[0], dims_m[1])
    (l0, l1), (s0, s1), (h0, h1) = ranges
    return band_fit(w, l0, l1) * band_fit(d, s0, s1) * band_fit(dims_m[2], h0, h1)
