"""Ground truth of real ScanNet rooms for room understanding: per-vertex NYU40 labels (the
``*_vh_clean_2.labels.ply`` files) and Scan2CAD object alignments as gravity-aligned boxes, both
in the scan's mesh frame (z up, metres).

Scan2CAD gives each object as a CAD model placed by ``M(t, q, s) = T(t)·R(q)·diag(s)`` (quaternion
w, x, y, z) into a world that is itself ``M(trs)`` of the scan; a model's box is its ``bbox``
half-extents about ``center`` in the CAD frame, whose y axis is up. The box in the mesh frame is
``M(scan)⁻¹ · M(model) · T(center) · diag(bbox)`` applied to the unit cube. Boxes are reduced to
the room description's convention: z up (the CAD y axis), yaw from the CAD x axis projected
on the floor, size from the transformed axes' lengths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from sensors.errors import FormatError
from sensors.formats._io import read_bytes
from sensors.room import RoomElement

from .rooms import structure_masks

# ShapeNet synset → RoomPlan category (None: no RoomPlan category; kept out of the room)
SHAPENET_CATEGORIES = {
    "03001627": "chair", "04379243": "table", "04256520": "sofa", "02818832": "bed", "02871439": "storage",
    "02933112": "storage", "03211117": "television", "02747177": None, "02808440": "bathtub",
    "04554684": "washerDryer", "03337140": "storage", "02773838": None,
}
__all__ = ["NYU40_ELEMENTS", "SHAPENET_CATEGORIES", "SHAPENET_NAMES", "label_boxes", "read_scan2cad", "read_scan2cad_all",
           "read_vertex_labels", "structure_masks"]


def read_vertex_labels(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(xyz (N, 3) float64 metres, NYU40 label (N,) int) of a binary little-endian ScanNet
    ``*.labels.ply`` (vertex properties x y z red green blue alpha label)."""
    path = Path(path)
    raw = read_bytes(path)
    end = raw.find(b"end_header\n")
    if not raw.startswith(b"ply") or end < 0:
        raise FormatError("not a PLY file", path)
    header = raw[:end].decode("ascii", "replace").split("\n")
    if "format binary_little_endian 1.0" not in header:
        raise FormatError("expected a binary little-endian PLY", path)
    try:
        n = next(int(h.split()[2]) for h in header if h.startswith("element vertex"))
    except (StopIteration, ValueError, IndexError):
        raise FormatError("PLY header has no vertex count", path) from None
    props = [h.split()[1:] for h in header if h.startswith("property") and not h.startswith("property list")]
    names = [p[1] for p in props[: len(props)]]
    sizes = {"float": "<f4", "uchar": "u1", "ushort": "<u2", "int": "<i4", "uint": "<u4", "double": "<f8", "short": "<i2"}
    try:
        vertex_props = props[: names.index("label") + 1]
        dtype = np.dtype([(p[1], sizes[p[0]]) for p in vertex_props])
    except (ValueError, KeyError):
        raise FormatError("PLY vertices have no 'label' property of a known type", path) from None
    body = end + len(b"end_header\n")
    if len(raw) - body < n * dtype.itemsize:
        raise FormatError(f"file is truncated: {n} vertices need {n * dtype.itemsize} bytes", path)
    v = np.frombuffer(raw, dtype, count=n, offset=body)
    xyz = np.stack([v["x"], v["y"], v["z"]], 1).astype(np.float64)
    if not np.isfinite(xyz).all():
        raise FormatError("vertices have NaN or infinite coordinates", path)
    return xyz, v["label"].astype(np.int64)


def _trs(d: dict) -> np.ndarray:
    w, x, y, z = (float(v) for v in d["rotation"])
    M = np.eye(4)
    M[:3, :3] = Rotation.from_quat([x, y, z, w]).as_matrix() @ np.diag([float(v) for v in d["scale"]])
    M[:3, 3] = [float(v) for v in d["translation"]]
    return M


def read_scan2cad(path: str | Path) -> list[RoomElement]:
    """Scan2CAD's aligned models of one scan as gravity-aligned room elements in the mesh frame
    (identifier ``"scan2cad-<k>"``; models without a RoomPlan category are left out)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        entry = doc[0] if isinstance(doc, list) else doc
        M_scan_inv = np.linalg.inv(_trs(entry["trs"]))
        models = entry["aligned_models"]
    except FileNotFoundError:
        raise FormatError("Scan2CAD annotation is missing", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"cannot read Scan2CAD annotation ({exc})", path) from None
    except (KeyError, TypeError, ValueError, IndexError, np.linalg.LinAlgError) as exc:
        raise FormatError(f"not a Scan2CAD annotation: {exc!r}", path) from None
    out = []
    for k, m in enumerate(models):
        try:
            category = SHAPENET_CATEGORIES.get(str(m["catid_cad"]))
            if category is None:
                continue
            unit = np.eye(4)
            unit[:3, 3] = [float(v) for v in m["center"]]
            unit[:3, :3] = np.diag([float(v) for v in m["bbox"]])
            B = M_scan_inv @ _trs(m["trs"]) @ unit  # unit cube [-1, 1]³ → mesh frame
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"aligned model {k} is malformed: {exc!r}", path) from None
        ax, up, az = B[:3, 0], B[:3, 1], B[:3, 2]  # CAD x, y (up), z, scaled to half-extents
        yaw = np.arctan2(ax[1], ax[0])
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("z", yaw).as_matrix()
        T[:3, 3] = B[:3, 3]
        dims = (2 * float(np.linalg.norm(ax)), 2 * float(np.linalg.norm(az)), 2 * float(np.linalg.norm(up)))
        out.append(RoomElement(f"scan2cad-{k}", category, dims, T))
    return out


# ShapeNet synset → a plain name for the models without a RoomPlan category (the element's label)
SHAPENET_NAMES = {"02747177": "trash bin", "02773838": "bag"}
# NYU40 class id → (room element category, label): doors and windows are surfaces; the rest
# (whiteboard, bag, …) have no RoomPlan category and keep their NYU40 name as the label
NYU40_ELEMENTS = {8: ("door", ""), 9: ("window", ""), 30: ("unknown", "whiteboard"), 37: ("unknown", "bag"),
                  39: ("unknown", "otherfurniture"), 7: ("table", ""), 5: ("chair", "")}


def read_scan2cad_all(path: str | Path) -> list[RoomElement]:
    """Every aligned model of a Scan2CAD annotation as a gravity-aligned box in the mesh frame, the
    ones without a RoomPlan category included as :data:`~sensors.room.UNCATEGORISED` with a
    ``label`` from :data:`SHAPENET_NAMES` (``"object"`` when the synset is not listed there).

    Same boxes and identifiers (``"scan2cad-<k>"``, k the index in ``aligned_models``) as
    :func:`read_scan2cad`, which leaves those models out."""
    path = Path(path)
    kept = {e.identifier: e for e in read_scan2cad(path)}  # validates the file, boxes of the categorised models
    entry = json.loads(path.read_text())
    entry = entry[0] if isinstance(entry, list) else entry
    M_scan_inv = np.linalg.inv(_trs(entry["trs"]))
    out = []
    for k, m in enumerate(entry["aligned_models"]):
        ident = f"scan2cad-{k}"
        if ident in kept:
            out.append(kept[ident])
            continue
        unit = np.eye(4)
        unit[:3, 3] = [float(v) for v in m["center"]]
        unit[:3, :3] = np.diag([float(v) for v in m["bbox"]])
        B = M_scan_inv @ _trs(m["trs"]) @ unit
        ax, up, az = B[:3, 0], B[:3, 1], B[:3, 2]
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("z", np.arctan2(ax[1], ax[0])).as_matrix()
        T[:3, 3] = B[:3, 3]
        dims = (2 * float(np.linalg.norm(ax)), 2 * float(np.linalg.norm(az)), 2 * float(np.linalg.norm(up)))
        label = SHAPENET_NAMES.get(str(m.get("catid_cad")), "object")
        out.append(RoomElement(ident, "unknown", dims, T, label=label))
    return out


def label_boxes(path: str | Path, label_id: int, link_m: float = 0.2, min_vertices: int = 50) -> list[RoomElement]:
    """Gravity-aligned oriented boxes around the vertices of one NYU40 class of a ScanNet
    ``*.labels.ply``, one per instance, in the mesh frame (z up, metres).

    The file has no instance ids, so instances are the connected groups of the class's vertices
    linked by ``link_m`` (vertices closer than that join one group); groups of fewer than
    ``min_vertices`` are dropped as label noise. Each box is turned about z to the dominant
    horizontal direction of its vertices (the principal axis of their x–y coordinates), which
    becomes the local x axis (width; for a door, window or whiteboard: along the wall, so local y
    is the thin axis, the wall normal); its extent is the vertices' range along each axis (the
    scan stops at about 1.4 m, so tall elements are cut there). Categories and labels come from
    :data:`NYU40_ELEMENTS` (``unknown`` labelled ``nyu40-<id>`` otherwise); identifiers are
    ``"label<id>-<k>"``, k ordered by decreasing vertex count. An empty list when no vertex has
    the label.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    xyz, labels = read_vertex_labels(path)
    pts = xyz[labels == label_id]
    if len(pts) == 0:
        return []
    pairs = cKDTree(pts).query_pairs(link_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(pts), len(pts)))
    n, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp, minlength=n)
    category, label = NYU40_ELEMENTS.get(label_id, ("unknown", f"nyu40-{label_id}"))
    out = []
    for c in np.argsort(-sizes, kind="stable"):
        if sizes[c] < min_vertices:
            break
        p = pts[comp == c]
        xy = p[:, :2] - p[:, :2].mean(0)
        _, vecs = np.linalg.eigh(xy.T @ xy)
        u = vecs[:, 1]  # largest eigenvalue: the dominant horizontal direction
        R = np.array([[u[0], -u[1], 0.0], [u[1], u[0], 0.0], [0.0, 0.0, 1.0]])
        local = p @ R
        lo, hi = local.min(0), local.max(0)
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = R @ ((lo + hi) / 2)
        out.append(RoomElement(f"label{label_id}-{len(out)}", category, tuple(hi - lo), T, label=label))
    return out
