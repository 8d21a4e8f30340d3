"""Tokenizer classes by transformers' name, and how each builds its `tokenizers` pipeline.

transformers 5.x family classes take only the vocabulary (and merges) from tokenizer.json and
rebuild normalizer, pre-tokenizer, decoder and post-processor from tokenizer_config.json; we do
the same, with the same `tokenizers` objects, so ids, offsets and decode agree exactly:
- BertTokenizer / DistilBertTokenizer: WordPiece + BertNormalizer + BertPreTokenizer,
  `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B [SEP]` (type ids 0…0 1…1);
- RobertaTokenizer: byte-level BPE, `<s> $A </s></s> $B </s>`, trim_offsets;
- GPT2Tokenizer: byte-level BPE, no special tokens added (unless add_bos_token/add_eos_token);
- TokenizersBackend (transformers' generic class): tokenizer.json verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, WordPiece

BERT_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
PLAIN_INPUTS = ("input_ids", "attention_mask")  # PreTrainedTokenizerBase's default


@dataclass(frozen=True)
class TokenizerSpec:
    name: str  # transformers' class name
    kind: str  # "wordpiece" | "roberta" | "gpt2" | "json"
    model_input_names: tuple[str, ...] = PLAIN_INPUTS
    defaults: dict[str, Any] = field(default_factory=dict)  # the class __init__'s keyword defaults
    vocab_files: tuple[str, ...] = ()  # files it is built from when there is no tokenizer.json
    dedicated: bool = True  # False: no class of ours; tokenizer.json is used verbatim instead

    @property
    def describe(self) -> str:
        return {"wordpiece": "WordPiece", "roberta": "byte-level BPE (RoBERTa)", "gpt2": "byte-level BPE (GPT-2)",
                "json": "pipeline"}[self.kind]


_BERT = {"do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
         "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": True, "strip_accents": None}
_ROBERTA = {"errors": "replace", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
            "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "add_prefix_space": False,
            "trim_offsets": True}
_GPT2 = {"errors": "replace", "unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
         "eos_token": "<|endoftext|>", "pad_token": None, "add_prefix_space": False}

SPECS: dict[str, TokenizerSpec] = {s.name: s for s in [
    TokenizerSpec("BertTokenizer", "wordpiece", BERT_INPUTS, _BERT, ("vocab.txt",)),
    TokenizerSpec("DistilBertTokenizer", "wordpiece", PLAIN_INPUTS, _BERT, ("vocab.txt",)),
    TokenizerSpec("RobertaTokenizer", "roberta", PLAIN_INPUTS, _ROBERTA, ("vocab.json", "merges.txt")),
    TokenizerSpec("GPT2Tokenizer", "gpt2", PLAIN_INPUTS, _GPT2, ("vocab.json", "merges.txt")),
    TokenizerSpec("TokenizersBackend", "json"),
    # Classes we have no builder for: their standard checkpoints' tokenizer.json gives the same result.
    *(TokenizerSpec(n, "json", dedicated=False) for n in (
        "XLMRobertaTokenizer", "LlamaTokenizer", "Qwen2Tokenizer", "CLIPTokenizer", "WhisperTokenizer")),
    TokenizerSpec("LayoutLMv2Tokenizer", "json", BERT_INPUTS, dedicated=False),
]}
GENERIC = ("TokenizersBackend", "PreTrainedTokenizerFast", "PythonBackend")


def find_spec(class_name: str) -> TokenizerSpec | None:
    """The spec for a transformers class name ("BertTokenizerFast" → BertTokenizer), or None."""
    name = class_name.removesuffix("Fast") if class_name != "PreTrainedTokenizerFast" else class_name
    if name in GENERIC:
        return SPECS["TokenizersBackend"]
    return SPECS.get(name)


# --------------------------------------------------------------------------- backends (no added tokens yet)
def wordpiece(vocab: dict | str, unk_token: str, init: dict) -> Tokenizer:
    """BertTokenizer.__init__: `vocab` is tokenizer.json's vocab dict or the path of vocab.txt."""
    tok = Tokenizer(WordPiece(vocab, unk_token=unk_token))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=init["tokenize_chinese_chars"],
                                                strip_accents=init["strip_accents"], lowercase=init["do_lower_case"])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def byte_level_bpe(vocab: dict | str, merges: list | str, init: dict) -> Tokenizer:
    """GPT2Tokenizer / RobertaTokenizer.__init__: paths of vocab.json + merges.txt, or tokenizer.json's lists."""
    model = BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="", end_of_word_suffix="",
                fuse_unk=False)
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=init["add_prefix_space"])
    tok.decoder = decoders.ByteLevel()
    return tok


# --------------------------------------------------------------------------- post-processors
def bert_template(cls: str, cls_id: int | None, sep: str, sep_id: int | None) -> processors.TemplateProcessing:
    cls_id = cls_id if cls_id is not None else 2  # transformers' fallbacks for a vocab without them
    sep_id = sep_id if sep_id is not None else 3
    return processors.TemplateProcessing(single=f"{cls}:0 $A:0 {sep}:0", pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
                                         special_tokens=[(cls, cls_id), (sep, sep_id)])


def roberta_processing(sep: str, sep_id: int, cls: str, cls_id: int, init: dict) -> processors.RobertaProcessing:
    return processors.RobertaProcessing((sep, sep_id), (cls, cls_id), init["trim_offsets"], init["add_prefix_space"])


def bos_eos_template(bos: tuple[str, int] | None, eos: tuple[str, int] | None) -> processors.TemplateProcessing:
    """TokenizersBackend.update_post_processor: `$A` with an optional BOS before and EOS after."""
    single = f"{bos[0] + ':0 ' if bos else ''}$A:0{' ' + eos[0] + ':0' if eos else ''}"
    pair = f"{single}{' ' + bos[0] + ':1' if bos else ''} $B:1{' ' + eos[0] + ':1' if eos else ''}"
    return processors.TemplateProcessing(single=single, pair=pair, special_tokens=[t for t in (bos, eos) if t])
