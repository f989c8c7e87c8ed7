"""Settings of the grounding layer (pydantic; every field has a default that works on a laptop)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GroundingOptions(BaseModel):
    """``text_model``: sentence embeddings for words the lexicon does not know ("minilm", the
    all-MiniLM-L6-v2 in the ``grounding`` extra; "none" for the lexicon alone) and
    ``text_model_path`` a local sentence-transformers folder instead. ``image_model`` ("clip",
    "siglip", "auto") and ``image_model_path``: an image–text model from a local folder that
    scores each object's keyframe crops against the query; ``detector`` ("owlvit", "owlv2") and
    ``detector_path``: open-vocabulary 2D detection on keyframes, lifted to 3D, for things the
    room stage did not box. ``max_views``: keyframe crops fused per object. ``edge_min_score``:
    relations kept as scene-graph edges (queries resolve relations from geometry, not edges).
    ``wall_fixtures``: look for boards and pictures on walls (:mod:`spatial.grounding.fixtures`);
    ``attributes`` and ``relations``: let colours, sizes, shapes and spatial relations score
    candidates (switching them off is for measuring what they add)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text_model: str = "minilm"
    text_model_path: str | None = None
    image_model: str | None = None
    image_model_path: str | None = None
    detector: str | None = None
    detector_path: str | None = None
    max_views: int = Field(3, ge=1, le=16)
    max_points: int = Field(400_000, ge=1000)
    edge_min_score: float = Field(0.5, gt=0.0, le=1.0)
    wall_fixtures: bool = True
    attributes: bool = True
    relations: bool = True

    @model_validator(mode="after")
    def _paths_given(self) -> GroundingOptions:
        for kind, name, path in (("image_model", self.image_model, self.image_model_path),
                                 ("detector", self.detector, self.detector_path)):
            if name is not None and path is None:
                raise ValueError(f"{kind} '{name}' needs {kind}_path: a local folder with its weights (saved with "
                                 "save_pretrained); nothing is downloaded")
        return self
