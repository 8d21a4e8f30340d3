"""AutoTokenizer on the `tokenizers` library, with transformers 5.x resolution and call semantics.

`AutoTokenizer.from_pretrained(checkpoint)` returns a `Tokenizer` whose calls return a
`BatchEncoding`; `tokenizer.trace` explains every decision taken while loading it.
"""

from .auto import AutoTokenizer
from .encoding import BatchEncoding
from .tokenizer import Tokenizer

__all__ = ["AutoTokenizer", "BatchEncoding", "Tokenizer"]
