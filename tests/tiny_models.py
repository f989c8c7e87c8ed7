"""Tiny randomly initialised image–text and detection models, built from configs and saved the
way real ones are (``save_pretrained`` of model, tokenizer and image processor), so the real
loading and inference code runs offline in tests; only the weights are random."""

from __future__ import annotations

from pathlib import Path

WORDS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "a", "an", "the", "of", "photo", "chair", "table", "sofa", "bin", "bed", "door", "window", "red", "blue", "green", "black", "white", "wooden", "round", "small", "big", "object", "thing", "lamp", "tv", "television", "seat", "couch", "to", "sit", "somewhere"]


def _tokenizer(max_length: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]",
                                   eos_token="[EOS]", model_max_length=max_length)


def _text_config() -> dict:
    return {"vocab_size": len(WORDS), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": 2, "eos_token_id": 3,
            "pad_token_id": 0}


def _vision_config() -> dict:
    return {"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
            "num_attention_heads": 2}


def tiny_clip(folder: Path) -> Path:
    """A 2-layer CLIP (32x32 images, 8-px patches, 16-d embeddings) saved in ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    config = CLIPConfig(text_config=_text_config(), vision_config=_vision_config(), projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    _tokenizer(16).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def tiny_owlvit(folder: Path) -> Path:
    """A 2-layer OWL-ViT (32x32 images, 16 patches) saved in ``folder``."""
    import torch
    from transformers import OwlViTConfig, OwlViTForObjectDetection, OwlViTImageProcessor

    torch.manual_seed(0)
    config = OwlViTConfig(text_config=_text_config(), vision_config=_vision_config(), projection_dim=32)  # = text width
    OwlViTForObjectDetection(config).save_pretrained(folder)
    _tokenizer(16).save_pretrained(folder)
    OwlViTImageProcessor(size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
