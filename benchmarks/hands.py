"""Hand tracking benchmark: 2D accuracy on real annotated images, metric lifting on synthetic
depth, latency per 640x480 frame, each beside plain MediaPipe in the same run.

    python benchmarks/hands.py [--data DIR] [--trials 60] [--frames 100]

1. **2D keypoints** on FreiHAND, CMU Panoptic (MPII/NZSL) and OneHand10K images
   (``DIR/{freihand,panoptic,onehand10k}``, COCO-style json): each dataset's joint names are mapped
   to MediaPipe's explicitly (``DATASET_TO_MEDIAPIPE``). An annotated hand is detected when a
   reported hand lies on it (its median joint error below half the annotation's box size; the
   nearest hand is taken). PCK@0.2: a labelled joint is correct within 0.2 × max(box width,
   height) (mmpose's normalisation), pooled over the labelled joints of a dataset, a missed
   hand's joints all counting as wrong. EPE: mean pixel error over detected hands. "mediapipe"
   is MediaPipe's HandLandmarker with its default options (one pass, detection confidence 0.5);
   "ours" is :class:`spatial.hands.HandLandmarker` in image mode with its defaults.
   False positives: hands reported on the first 7-Scenes frames (no hands in view).
2. **Metric lifting**: no 3D annotations ship with these images, so ground truth is built from
   the landmark model's 3D hands of the real images: scaled to a random size (0.8–1.2 × average),
   perturbed per joint by 5 mm, rotated and placed 0.35–0.8 m from a 640x480 camera. Depth is
   rendered from sphere-swept bones and palm with sensor noise and dropouts
   (:mod:`spatial.hands.synthetic`), half the trials with a bar occluding the index finger; the 2D
   landmarks are the true projections plus 1.5 px noise; the lifter gets the *unperturbed*,
   unscaled model hand. MPJPE (mm) with depth, and monocular without it.
3. **Latency**: a real hand image in a 640x480 frame with depth, video mode, MediaPipe alone vs
   the full :class:`HandTracker` step (landmarks + lifting + filter + gestures), in alternating
   phases (one model alive at a time), mean per-frame time after 10 warm-up frames; with
   ``num_hands`` 2 (the default) and 1. With one hand in view and ``num_hands`` 2, MediaPipe runs
   its palm detector on every frame looking for the second hand; ours does so every
   ``detection_interval`` (4) frames.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from sensors.types import CameraIntrinsics, RGBDFrame
from spatial.hands import HandLandmarker, HandLandmarkerOptions, HandTracker, lift_hand
from spatial.hands.joints import map_joint_names
from spatial.hands.synthetic import random_hand_pose, render_hand_depth

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = ("freihand", "panoptic", "onehand10k")
# mmpose's hand keypoint names (the json's categories[0].keypoints) → MediaPipe joint names
_FINGER = {"thumb": "thumb", "forefinger": "index", "middle_finger": "middle", "ring_finger": "ring", "pinky_finger": "pinky"}
_THUMB = ("cmc", "mcp", "ip", "tip")
_LONG = ("mcp", "pip", "dip", "tip")
DATASET_TO_MEDIAPIPE = {"wrist": "wrist"} | {
    f"{src}{k + 1}": f"{dst}_{(_THUMB if dst == 'thumb' else _LONG)[k]}" for src, dst in _FINGER.items() for k in range(4)
}


def load_dataset(folder: Path) -> list[tuple[Path, np.ndarray, np.ndarray, float]]:
    """(image, (21, 2) keypoints in MediaPipe order, (21,) labelled mask, PCK normaliser px)."""
    data = json.loads(next(folder.glob("*.json")).read_text())
    idx = map_joint_names(data["categories"][0]["keypoints"], DATASET_TO_MEDIAPIPE)
    images = {im["id"]: im for im in data["images"]}
    out = []
    for a in data["annotations"]:
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)[idx]
        out.append((folder / images[a["image_id"]]["file_name"], kp[:, :2], kp[:, 2] > 0, max(a["bbox"][2:])))
    return out


def evaluate_2d(landmarker: HandLandmarker, samples) -> dict:
    correct = labelled = detected = 0
    errors: list[float] = []
    for path, kp, vis, size in samples:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        hands = [h.landmarks_px for h in landmarker.detect(rgb)]
        labelled += int(vis.sum())
        if not hands:
            continue
        best = min(hands, key=lambda lm: np.linalg.norm(lm[vis].mean(0) - kp[vis].mean(0)))
        d = np.linalg.norm(best[vis] - kp[vis], axis=1)
        if np.median(d) > 0.5 * size:
            continue
        detected += 1
        correct += int((d <= 0.2 * size).sum())
        errors += d.tolist()
    return {
        "pck02": correct / labelled,
        "epe_px": float(np.mean(errors)) if errors else float("nan"),
        "detected": detected,
        "hands": len(samples),
    }


def false_positives(landmarker: HandLandmarker, folder: Path, n: int = 30) -> int:
    files = sorted(folder.glob("frame-*.color.jpg"))[:n]
    return sum(len(landmarker.detect(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB))) for f in files)


def lifting(models, trials: int, seed: int = 0) -> dict:
    K = CameraIntrinsics(600.0, 600.0, 319.5, 239.5, 640, 480)
    rng = np.random.default_rng(seed)
    depth_err, occluded_err, mono_err, scale_err = [], [], [], []
    for k in range(trials):
        hand = models[k % len(models)]
        s = rng.uniform(0.8, 1.2)
        G, px = random_hand_pose(hand.world_landmarks_m, rng, K, s)
        occ = (px[8, 0] - 8, px[8, 0] + 8, 0, K.height) if k % 2 else None
        depth = render_hand_depth(G, K, s, occluder=occ, seed=k)
        seen = hand.with_(landmarks_px=px + rng.normal(0.0, 1.5, px.shape))
        lifted = lift_hand(seen, K, depth)
        mono = lift_hand(seen, K, None)
        err = 1000 * float(np.linalg.norm(lifted.joints_camera_m - G, axis=1).mean())
        (occluded_err if occ else depth_err).append(err)
        mono_err.append(1000 * float(np.linalg.norm(mono.joints_camera_m - G, axis=1).mean()))
        scale_err.append(abs(lifted.scale - s) / s)
    return {
        "mpjpe_mm_depth": float(np.mean(depth_err + occluded_err)),
        "mpjpe_mm_depth_unoccluded": float(np.mean(depth_err)),
        "mpjpe_mm_depth_occluded": float(np.mean(occluded_err)),
        "mpjpe_mm_monocular": float(np.mean(mono_err)),
        "scale_error_pct": 100 * float(np.mean(scale_err)),
    }


def latency(image: np.ndarray, frames: int, num_hands: int) -> tuple[float, float]:
    """Mean ms per 640x480 frame: MediaPipe alone (its video mode), our full tracking step."""
    canvas = np.zeros((480, 640, 3), np.uint8)
    f = min(400 / image.shape[0], 560 / image.shape[1])
    small = cv2.resize(image, (int(image.shape[1] * f), int(image.shape[0] * f)))
    canvas[40 : 40 + small.shape[0], 40 : 40 + small.shape[1]] = small
    K = CameraIntrinsics(600.0, 600.0, 319.5, 239.5, 640, 480)
    with HandLandmarker(HandLandmarkerOptions()) as still:
        hand = lift_hand(still.detect(canvas)[0], K, None)
    depth = render_hand_depth(hand.joints_camera_m, K, 1.0)
    opts = HandLandmarkerOptions(running_mode="video", num_hands=num_hands)
    plain = HandLandmarkerOptions(running_mode="video", num_hands=num_hands, detection_interval=1)  # MediaPipe's own schedule
    times: dict[str, list[float]] = {"mediapipe": [], "ours": []}
    for phase in range(4):  # alternate; only one model alive at a time (their thread pools spin)
        name = "ours" if phase % 2 else "mediapipe"
        task = HandTracker(opts) if phase % 2 else HandLandmarker(plain)
        with task:
            for i in range(frames // 2 + 10):
                t_ns = (i + 1) * 33_333_333
                t0 = time.perf_counter()
                if phase % 2:
                    task.process(RGBDFrame(t_ns, canvas, depth, K))
                else:
                    task.detect_for_video(canvas, t_ns)
                if i >= 10:  # warm-up frames excluded
                    times[name].append(1000 * (time.perf_counter() - t0))
    return statistics.mean(times["mediapipe"]), statistics.mean(times["ours"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--trials", type=int, default=60, help="synthetic lifting trials")
    parser.add_argument("--frames", type=int, default=100, help="frames per latency measurement")
    args = parser.parse_args()

    ours = HandLandmarker(HandLandmarkerOptions())
    plain = HandLandmarker(HandLandmarkerOptions(min_detection_confidence=0.5, search=False, flip_average=False))
    result: dict = {}
    detected = detected_mp = total = 0
    for name in DATASETS:
        samples = load_dataset(args.data / "hands" / name)
        r_ours, r_mp = evaluate_2d(ours, samples), evaluate_2d(plain, samples)
        print(
            f"{name:<11} ours: PCK@0.2 {r_ours['pck02']:.3f} EPE {r_ours['epe_px']:5.1f} px detected {r_ours['detected']}/{r_ours['hands']}"
            f"   mediapipe: PCK@0.2 {r_mp['pck02']:.3f} EPE {r_mp['epe_px']:5.1f} px detected {r_mp['detected']}/{r_mp['hands']}"
        )
        result[f"pck02_{name}"] = round(r_ours["pck02"], 4)
        result[f"pck02_{name}_mediapipe"] = round(r_mp["pck02"], 4)
        result[f"epe_px_{name}"] = round(r_ours["epe_px"], 2)
        result[f"epe_px_{name}_mediapipe"] = round(r_mp["epe_px"], 2)
        result[f"detected_{name}"] = f"{r_ours['detected']}/{r_ours['hands']}"
        result[f"detected_{name}_mediapipe"] = f"{r_mp['detected']}/{r_mp['hands']}"
        detected, total = detected + r_ours["detected"], total + r_ours["hands"]
        detected_mp += r_mp["detected"]
    result["detect_rate"] = round(detected / total, 4)
    result["detect_rate_mediapipe"] = round(detected_mp / total, 4)
    scenes = args.data / "7scenes"
    if scenes.is_dir():
        result["false_positives_7scenes30"] = false_positives(ours, scenes)
        result["false_positives_7scenes30_mediapipe"] = false_positives(plain, scenes)
        print(f"false positives on 30 hand-free 7-Scenes frames: ours {result['false_positives_7scenes30']}, "
              f"mediapipe {result['false_positives_7scenes30_mediapipe']}")

    models = []
    for name in DATASETS:
        for path, *_ in load_dataset(args.data / "hands" / name):
            models += list(ours.detect(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)))
    lift_result = lifting(models, args.trials)
    print("lifting: " + ", ".join(f"{k} {v:.1f}" for k, v in lift_result.items()))
    result |= {k: round(v, 2) for k, v in lift_result.items()}

    image = cv2.cvtColor(cv2.imread(str(args.data / "hands" / "onehand10k" / "1402.jpg")), cv2.COLOR_BGR2RGB)
    for n in (2, 1):
        mp_ms, our_ms = latency(image, args.frames, n)
        print(f"latency 640x480, num_hands={n}: mediapipe {mp_ms:.1f} ms, ours (landmarks + lift + filter + gestures) {our_ms:.1f} ms")
        suffix = "" if n == 2 else "_one_hand"
        result[f"ms_per_frame{suffix}"] = round(our_ms, 2)
        result[f"ms_per_frame_mediapipe{suffix}"] = round(mp_ms, 2)
        result[f"ratio_vs_mediapipe{suffix}"] = round(our_ms / mp_ms, 3)
    ours.close()
    plain.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
