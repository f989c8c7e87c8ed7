"""Train the object classifier shipped with the package (``models/objects_mlp.npz``) on simulated
rooms, and report its accuracy on rooms it did not see.

    python -m spatial.rooms.train_classifier [--rooms 400] [--out spatial/rooms/models/objects_mlp.npz]

Training data: rooms of every simulator preset with seeds from :data:`FIRST_SEED` (the tests use
0-8 and ``benchmarks/rooms.py`` 101-120 and 201-220, so none of them is seen here). For each room
the camera path of a simulated scan is planned and its surfaces are sampled where one of 6-30
random poses of that path sees them (Open3D ray casting against the whole room: occluded,
back-facing, grazing and far surfaces drop out, as in a real scan), with 3 mm of depth noise and
each part's albedo under varying light as colour, pooled like a reconstruction
(:func:`synthetic_scan`). Room capture's own stages then find the
structure and the object instances, so the classifier learns from the instances and boxes
inference will give it: each labelled with the object owning most of its surface, or "none"
(a piece of wall, a door leaf) — the 17th class, which makes junk uncategorised instead of a
sofa. Rooms are split by seed: the last ``--holdout`` share is only evaluated.

The model: standardised features → 64 → 64 → 17, ReLU, softmax, trained with Adam on a
class-balanced cross-entropy with weight decay (numpy; no deep-learning framework needed).
"""

from __future__ import annotations

import argparse
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

from sensors.errors import ConfigError
from sensors.room import OBJECT_CATEGORIES

from .classify import CLASSES, DEFAULT_MODEL, MlpClassifier
from .features import NAMES, instance_features, wall_lightness
from .points import Surfels, pool, voxel_ids

FIRST_SEED = 1000
MIN_STD = 0.05  # floor on each feature's standardising spread
PRESETS = ("studio", "kitchen", "bedroom", "apartment")
NONE = CLASSES.index("none")  # instances that are no object (a piece of wall, a door leaf)


def synthetic_scan(world, traj, rng: np.random.Generator, n_cams: int, density_m2: float = 0.0004,
                   noise_m: float = 0.003) -> tuple[Surfels, np.ndarray]:
    """Surfels of every surface of ``world`` that one of ``n_cams`` random poses of the scan
    ``traj`` sees (ray casting: occlusion, back faces and grazing views drop out), with depth noise,
    pooled at 2 cm like a reconstruction; and the element identifier owning each (majority)."""
    import open3d as o3d

    V, F, owner = world.mesh_arrays()
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(V.astype(np.float32)), o3d.core.Tensor(F.astype(np.uint32)))
    cams = traj.pose(rng.uniform(0, traj.duration_s, n_cams))[:, :3, 3]
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    e1, e2 = b - a, c - a
    cross = np.stack([e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1], e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2],
                      e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]], 1)
    area = 0.5 * np.linalg.norm(cross, axis=1)
    n = int(area.sum() / density_m2)
    pick = rng.choice(len(F), n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    pts = (1 - r1)[:, None] * a[pick] + (r1 * (1 - r2))[:, None] * b[pick] + (r1 * r2)[:, None] * c[pick]
    normals = cross[pick] / np.maximum(2 * area[pick, None], 1e-12)
    seen = np.zeros(n, bool)
    noisy = pts.copy()
    for cam in cams:
        d = pts - cam
        dist = np.linalg.norm(d, axis=1)
        u = d / dist[:, None]
        cand = ~seen & (-(u * normals).sum(1) > 0.17) & (dist < 4.0)  # facing within 80°, in depth range
        if not cand.any():
            continue
        rays = np.hstack([np.broadcast_to(cam, (int(cand.sum()), 3)), u[cand]]).astype(np.float32)
        hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
        ok = np.flatnonzero(cand)[np.abs(hit - dist[cand]) < 0.01]
        noisy[ok] = pts[ok] + u[ok] * rng.normal(0, noise_m, (len(ok), 1))
        seen[ok] = True
    elem = np.array([p.element_id for p in world.parts])[owner[pick]][seen]
    tint = np.array([p.tint for p in world.parts])[owner[pick]][seen]
    shade = rng.uniform(0.75, 1.0, (int(seen.sum()), 1))  # lighting varies; textures are left out
    colors = np.clip(255 * tint * shade, 0, 255).astype(np.uint8)
    raw = Surfels(noisy[seen], normals[seen], np.full(int(seen.sum()), area.sum() / n), colors)
    voxel, m = voxel_ids(raw.xyz, 0.02)
    names, code = np.unique(elem, return_inverse=True)
    votes = np.zeros((m, len(names)))
    np.add.at(votes, (voxel, code.ravel()), 1.0)
    return pool(raw, 0.02), names[votes.argmax(1)]


def room_samples(preset: str, seed: int, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """(features, class) of every instance room capture finds in a synthetic scan of one simulated
    room: the class of the object owning most of its surface, or :data:`NONE` when that is no
    object (a piece of wall, a door leaf)."""
    from sensors.sim import SimConfig, plan

    from .levels import find_levels
    from .objects import find_instances
    from .structure import find_structure

    try:
        world, traj = plan(SimConfig.create(preset=preset, seed=seed))
    except ConfigError:
        return []
    s, owner = synthetic_scan(world, traj, rng, int(rng.integers(6, 30)))
    levels = find_levels(s)
    if not levels:
        return []
    level = levels[0]
    floor = (s.normals[:, 2] > 0.9) & (np.abs(s.xyz[:, 2] - level.floor_z) < 0.05)
    st = find_structure(s, level, s.xyz[floor, :2], s.area_m2[floor], 0.12)
    category = {e.identifier: e.category for e in world.room.objects}
    out = []
    white = wall_lightness(s, st.faces)
    for inst in find_instances(s, st):
        ids, inv = np.unique(owner[inst.members], return_inverse=True)
        share = np.bincount(inv.ravel(), s.area_m2[inst.members])
        top = ids[np.argmax(share)]
        label = OBJECT_CATEGORIES.index(category[top]) if top in category and share.max() > 0.5 * share.sum() else NONE
        f = instance_features(s, inst.members, inst.T_work_box, inst.dims_m, level.floor_z, inst.wall is not None, white)
        out.append((f, label))
    return out


def dataset(seeds: list[int], rng: np.random.Generator, log=print) -> tuple[np.ndarray, np.ndarray]:
    X, y = [], []
    t0 = time.perf_counter()
    for k, seed in enumerate(seeds):
        for f, c in room_samples(PRESETS[seed % len(PRESETS)], seed, rng):
            X.append(f)
            y.append(c)
        if (k + 1) % 25 == 0:
            log(f"  {k + 1}/{len(seeds)} rooms, {len(y)} objects, {time.perf_counter() - t0:.0f} s")
    return np.array(X), np.array(y)


def train(X: np.ndarray, y: np.ndarray, hidden: int = 64, epochs: int = 400, lr: float = 2e-3,
          weight_decay: float = 1e-4, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights of the MLP (the layout :class:`~spatial.rooms.classify.MlpClassifier` loads)."""
    rng = np.random.default_rng(seed)
    # a floor on the spread: a feature constant in training (no table underside is ever seen in
    # a simulated scan) must not blow up when a reconstruction shows a little of it
    mean, std = X.mean(0), np.maximum(X.std(0), MIN_STD)
    Xs = (X - mean) / std
    k = len(CLASSES)
    sizes = [X.shape[1], hidden, hidden, k]
    params = []
    for a, b in pairwise(sizes):
        params += [rng.normal(0, np.sqrt(2 / a), (a, b)), np.zeros(b)]
    counts = np.bincount(y, minlength=k).astype(float)
    class_w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / k, 0.0)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(Xs))
        for start in range(0, len(order), 128):
            idx = order[start:start + 128]
            grads = _gradients(params, Xs[idx], y[idx], class_w)
            step += 1
            for i, g in enumerate(grads):
                g = g + weight_decay * params[i] if params[i].ndim == 2 else g
                m[i] = 0.9 * m[i] + 0.1 * g
                v[i] = 0.999 * v[i] + 0.001 * g * g
                params[i] -= lr * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
    out = {"mean": mean, "std": std, "n_layers": np.array(3), "feature_names": np.array(NAMES),
           "categories": np.array(CLASSES)}
    for i in range(3):
        out[f"W{i}"], out[f"b{i}"] = params[2 * i], params[2 * i + 1]
    return out


def _gradients(params, X, y, class_w):
    acts = [X]
    h = X
    for i in range(3):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < 2:
            h = np.maximum(h, 0.0)
        acts.append(h)
    z = acts[-1] - acts[-1].max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    w = class_w[y]
    delta = p.copy()
    delta[np.arange(len(y)), y] -= 1
    delta *= (w / w.sum())[:, None]
    grads = [None] * 6
    for i in (2, 1, 0):
        grads[2 * i] = acts[i].T @ delta
        grads[2 * i + 1] = delta.sum(0)
        if i > 0:
            delta = (delta @ params[2 * i].T) * (acts[i] > 0)
    return grads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rooms", type=int, default=400)
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--dataset", type=Path, help="cache of the sampled features (.npz): read when it exists, else written")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    seeds = list(range(FIRST_SEED, FIRST_SEED + args.rooms))
    cut = int(len(seeds) * (1 - args.holdout))
    if args.dataset is not None and args.dataset.is_file():
        with np.load(args.dataset) as z:
            X, y, Xv, yv = z["X"], z["y"], z["Xv"], z["yv"]
        print(f"read {len(y)} + {len(yv)} sampled instances from {args.dataset}")
    else:
        print(f"sampling {args.rooms} simulated rooms (seeds {seeds[0]}-{seeds[-1]}; the last {len(seeds) - cut} held out)")
        X, y = dataset(seeds[:cut], rng)
        Xv, yv = dataset(seeds[cut:], rng)
        if args.dataset is not None:
            np.savez(args.dataset, X=X, y=y, Xv=Xv, yv=yv)
    weights = train(X, y)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **weights)
    model = MlpClassifier(args.out)
    pred = model.probabilities(Xv).argmax(1)
    print(f"trained on {len(y)} instances; held-out rooms: {len(yv)} instances, accuracy {np.mean(pred == yv):.3f}")
    for k, cat in enumerate(CLASSES):
        sel = yv == k
        if sel.any():
            print(f"  {cat:13s} {np.mean(pred[sel] == k):.2f} of {int(sel.sum())}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
