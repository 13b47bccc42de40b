"""Build a tiny random-weight Llama that vLLM can serve: no download, a few seconds.

Run with the vLLM environment's Python (it has transformers and tokenizers):
    python tests/support/tiny_llama.py OUT_DIR
The tokenizer is a byte-level BPE (HF `tokenizers`; any input encodes) trained on synthetic
radiology-like text. DESIGN.md §9 names sentencepiece, but transformers 5's `LlamaTokenizer`
no longer converts a sentencepiece model: the saved tokenizer encoded everything to nothing
and vLLM answered "The decoder prompt cannot be empty". The model is LlamaConfig(hidden 128,
2 layers, 2 heads, 1 KV head, head_dim 64: vLLM's CPU attention rejects smaller heads) with
random weights; the tokenizer carries a minimal chat template so /v1/chat/completions works.
It says nothing about clinical quality: it proves the requests we send are accepted and the
constrained answers parse (DESIGN.md §9).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
WORDS = [
    "no", "pleural", "effusion", "pneumothorax", "consolidation", "left", "right", "lower",
    "upper", "lobe", "small", "large", "mild", "moderate", "severe", "cardiomegaly", "heart",
    "size", "normal", "stable", "new", "increased", "decreased", "opacity", "nodule", "mm",
    "cm", "same", "different", "findings", "impression", "report", "text", "the", "is", "are",
    "in", "of", "with", "and", "entity", "context", "label", "reason", "none", "negation",
    "laterality",
]


def build(out: Path, seed: int = 7) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(3000)]
    lines.append('{}[]":,0123456789.')
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(lines, trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=64,
        max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
