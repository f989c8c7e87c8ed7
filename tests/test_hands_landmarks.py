"""HandLandmarker: detection on real images, running modes, backend registry, bad inputs."""

from __future__ import annotations

import json
import sys
import threading

import cv2
import numpy as np
import pytest

from sensors.errors import ConfigError, FormatError, MissingDependencyError, SyncError
from spatial.hands import Hand, HandLandmarker, HandLandmarkerOptions, HandsResult, available_backends, register_backend


def _rgb(path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _annotation(folder, file_name):
    data = json.loads(next(folder.glob("*.json")).read_text())
    (image,) = [im for im in data["images"] if im["file_name"] == file_name]
    (ann,) = [a for a in data["annotations"] if a["image_id"] == image["id"]]
    kp = np.asarray(ann["keypoints"], float).reshape(21, 3)  # mmpose order = MediaPipe order
    return kp[:, :2], kp[:, 2] > 0, max(ann["bbox"][2:])


@pytest.fixture(scope="module")
def still():
    with HandLandmarker(HandLandmarkerOptions()) as lm:
        yield lm


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["9.jpg", "1402.jpg"])
def test_detects_onehand10k(still, shared_data, name):
    folder = shared_data / "hands" / "onehand10k"
    result = still.detect(_rgb(folder / name), timestamp_ns=7)
    assert isinstance(result, HandsResult) and len(result) == 1 and result.timestamp_ns == 7
    hand = result[0]
    kp, vis, size = _annotation(folder, name)
    err = np.linalg.norm(hand.landmarks_px[vis] - kp[vis], axis=1)
    assert (err <= 0.2 * size).mean() >= 0.9  # PCK@0.2
    assert hand.handedness in ("left", "right") and 0.5 < hand.score <= 1.0
    assert hand.world_landmarks_m.shape == (21, 3) and np.ptp(hand.world_landmarks_m, axis=0).max() < 0.3
    assert hand.landmarks_z.shape == (21,)


@pytest.mark.shared_data
def test_search_finds_the_hand_plain_mediapipe_misses(still, shared_data):
    """FreiHAND 00050180 (224x224 crop): MediaPipe's defaults find no hand; the landmarker does.
    FreiHAND holds right hands only."""
    rgb = _rgb(shared_data / "hands" / "freihand" / "00050180.jpg")
    with HandLandmarker(HandLandmarkerOptions(min_detection_confidence=0.5, search=False, flip_average=False)) as plain:
        assert len(plain.detect(rgb)) == 0
    (hand,) = still.detect(rgb)
    assert hand.handedness == "right"
    kp, _, size = _annotation(shared_data / "hands" / "freihand", "00050180.jpg")
    assert (np.linalg.norm(hand.landmarks_px - kp, axis=1) <= 0.2 * size).mean() >= 0.8


@pytest.mark.shared_data
def test_tiles_find_a_small_hand_in_a_large_image(still, shared_data):
    """Panoptic 005880453_01 (1280x720): the annotated hand is about 55 px wide."""
    folder = shared_data / "hands" / "panoptic"
    kp, vis, size = _annotation(folder, "005880453_01_l.jpg")
    result = still.detect(_rgb(folder / "005880453_01_l.jpg"))
    errors = [np.median(np.linalg.norm(h.landmarks_px[vis] - kp[vis], axis=1)) for h in result]
    assert min(errors) < 0.2 * size


def test_empty_result_and_modes():
    with HandLandmarker(HandLandmarkerOptions(running_mode="video")) as lm:
        blank = np.full((240, 320, 3), 127, np.uint8)
        r = lm.detect_for_video(blank, 1_000_000)
        assert isinstance(r, HandsResult) and len(r) == 0 and list(r) == [] and r.image_size == (320, 240)
        assert r.to_json() == {"timestamp_ns": 1_000_000, "image_size": [320, 240], "flags": [], "hands": []}
        lm.detect_for_video(blank, 1_000_500)  # sub-millisecond spacing is accepted
        with pytest.raises(SyncError, match="must increase"):
            lm.detect_for_video(blank, 1_000_500)
        with pytest.raises(ConfigError, match="video mode; image mode calls are not allowed"):
            lm.detect(blank)


@pytest.mark.shared_data
def test_video_and_live_modes_track_a_hand(shared_data):
    rgb = _rgb(shared_data / "hands" / "onehand10k" / "1402.jpg")
    with HandLandmarker(HandLandmarkerOptions(running_mode="video")) as lm:
        counts = [len(lm.detect_for_video(rgb, k * 33_333_333)) for k in range(6)]
    assert counts == [1] * 6  # detection_interval skips the palm detector, not the hand
    got: list[HandsResult] = []
    done = threading.Event()

    def on_result(r: HandsResult) -> None:
        got.append(r)
        done.set()

    with HandLandmarker(HandLandmarkerOptions(running_mode="live", result_callback=on_result)) as lm:
        lm.detect_async(rgb, 5_000_000)
        assert done.wait(10)
    assert got[0].timestamp_ns == 5_000_000 and len(got[0]) == 1


@pytest.mark.shared_data
def test_mirrored_swaps_handedness(still, shared_data):
    rgb = _rgb(shared_data / "hands" / "onehand10k" / "1402.jpg")
    with HandLandmarker(HandLandmarkerOptions(mirrored=True)) as mirrored:
        assert mirrored.detect(rgb)[0].handedness != still.detect(rgb)[0].handedness


def test_bad_images(still):
    with pytest.raises(FormatError, match=r"image is empty \(shape \(0, 0, 3\)\)"):
        still.detect(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(FormatError, match="must be uint8 RGB, got dtype float32"):
        still.detect(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(FormatError, match=r"must be HxWx3 RGB \(or grayscale\), got shape \(48, 64, 2\)"):
        still.detect(np.zeros((48, 64, 2), np.uint8))
    with pytest.raises(FormatError, match="numpy array"):
        still.detect([[0, 0], [0, 0]])


@pytest.mark.shared_data
def test_grayscale_and_huge_images_are_flagged(still, shared_data):
    ok = _rgb(shared_data / "hands" / "onehand10k" / "1402.jpg")
    gray = still.detect(cv2.cvtColor(ok, cv2.COLOR_RGB2GRAY))  # colour helps: 10 of the 16 images work in grey
    assert gray.flags == ("grayscale_input",) and len(gray) == 1
    assert still.detect(cv2.cvtColor(ok, cv2.COLOR_RGB2GRAY)[:, :, None]).flags == ("grayscale_input",)
    rgb = _rgb(shared_data / "hands" / "onehand10k" / "9.jpg")  # 238x358
    ref = still.detect(rgb)[0].landmarks_px
    huge = cv2.resize(rgb, None, fx=12, fy=12, interpolation=cv2.INTER_NEAREST)  # 2856x4296
    r = still.detect(huge)
    assert r.flags == ("downscaled",) and r.image_size == (2856, 4296)
    assert np.median(np.linalg.norm(r[0].landmarks_px / 12 - ref, axis=1)) < 5  # input pixels


def test_backend_registry():
    class Canned:
        def __init__(self, options):
            self.options = options

        def detect(self, rgb):
            lm = np.tile([[10.0, 20.0]], (21, 1)) + np.arange(21)[:, None]
            return [Hand("left", 0.9, lm, np.zeros((21, 3)))]

        def close(self):
            pass

    register_backend("canned", Canned)
    assert "canned" in available_backends() and "mediapipe" in available_backends()
    with HandLandmarker(HandLandmarkerOptions(backend="canned", flip_average=False)) as lm:
        (hand,) = lm.detect(np.zeros((100, 100, 3), np.uint8))
    assert hand.handedness == "left" and hand.landmarks_px[0].tolist() == [10.0, 20.0]
    with pytest.raises(ConfigError, match="unknown hand landmark backend 'nope', expected one of"):
        HandLandmarker(HandLandmarkerOptions(backend="nope"))


def test_bad_options():
    with pytest.raises(ConfigError, match="running_mode must be one of"):
        HandLandmarkerOptions(running_mode="stream")
    with pytest.raises(ConfigError, match="num_hands must be between 1 and 8, got 0"):
        HandLandmarkerOptions(num_hands=0)
    with pytest.raises(ConfigError, match=r"min_detection_confidence must be in \[0, 1\], got 1.5"):
        HandLandmarkerOptions(min_detection_confidence=1.5)
    with pytest.raises(ConfigError, match="live mode needs a result_callback"):
        HandLandmarkerOptions(running_mode="live")


def test_missing_model_bundle_and_dependency(tmp_path, monkeypatch):
    missing = tmp_path / "hand_landmarker.task"
    with pytest.raises(FormatError, match="model bundle is missing") as exc:
        HandLandmarker(HandLandmarkerOptions(model_path=missing))
    assert exc.value.path == missing
    import spatial.hands.mediapipe_backend as backend

    monkeypatch.setitem(sys.modules, "mediapipe", None)  # as if the hands extra were not installed
    monkeypatch.setattr(backend, "_BUNDLES", {})
    with pytest.raises(MissingDependencyError, match=r"pip install 'spatial-sdk\[hands\]'") as exc:
        HandLandmarker(HandLandmarkerOptions())
    assert exc.value.extra == "hands"
