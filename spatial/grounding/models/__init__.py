"""Model backends of the grounding layer (Options → Task → Result, loaded from local paths
only): text embeddings (:mod:`.text`, default all-MiniLM-L6-v2 from the ``grounding`` extra),
image–text embeddings (:mod:`.image`: CLIP, SigLIP), open-vocabulary detection
(:mod:`.detect`: OWL-ViT, OWLv2) and an OpenAI-compatible chat endpoint (:mod:`.llm`)."""
