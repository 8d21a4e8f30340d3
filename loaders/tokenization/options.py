"""A call's padding and truncation arguments → strategies, as transformers' `_get_padding_truncation_strategies`.

What transformers logs or warns about lands in the call's trace instead of on stdout.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TokenizerError
from ..trace import Trace

PADDING = ("longest", "max_length", "do_not_pad")
TRUNCATION = ("longest_first", "only_first", "only_second", "do_not_truncate")
LARGE_INTEGER = int(1e20)  # model_max_length above this means "no limit" (the default is int(1e30))


@dataclass(frozen=True)
class Strategies:
    padding: str  # one of PADDING
    truncation: str  # one of TRUNCATION
    max_length: int | None


def resolve(padding, truncation, max_length: int | None, pad_to_multiple_of: int | None, model_max_length: int,
            has_pad_token: bool, trace: Trace) -> Strategies:
    """Decide padding and truncation for one call, exactly as transformers does, noting each implicit choice."""
    if max_length is not None and padding is False and truncation is None:
        truncation = "longest_first"
        trace.warn("call", "max_length without truncation → truncation='longest_first' (transformers' default)",
                   "max_length", max_length)
    pad = _padding(padding, truncation, max_length, trace)
    trunc = _truncation(truncation)
    if max_length is None:
        pad, trunc, max_length = _default_length(pad, trunc, model_max_length, trace)
    if pad != "do_not_pad" and not has_pad_token:
        raise TokenizerError("Asking to pad but the tokenizer does not have a padding token; pass padding=False, "
                             "or load it with pad_token=... (e.g. the eos token).")
    if (trunc != "do_not_truncate" and pad != "do_not_pad" and pad_to_multiple_of is not None
            and max_length is not None and max_length % pad_to_multiple_of != 0):
        raise TokenizerError(f"Truncation and padding are both on but max_length ({max_length}) is not a multiple of "
                             f"pad_to_multiple_of ({pad_to_multiple_of}); change one of them.")
    return Strategies(pad, trunc, max_length)


def _padding(padding, truncation, max_length, trace: Trace) -> str:
    if padding is False or padding is None:
        return "do_not_pad"
    if padding is True:
        if max_length is not None and truncation in (None, False, "do_not_truncate"):
            trace.warn("call", "max_length is ignored when padding=True and there is no truncation; "
                       "use padding='max_length' to pad to it", "max_length", max_length)
        return "longest"
    if padding not in PADDING:
        raise TokenizerError(f"padding={padding!r} is not valid; use True, False or one of {', '.join(PADDING)}.")
    return padding


def _truncation(truncation) -> str:
    if truncation is False or truncation is None:
        return "do_not_truncate"
    if truncation is True:
        return "longest_first"
    if truncation not in TRUNCATION:
        raise TokenizerError(f"truncation={truncation!r} is not valid; use True, False or one of "
                             f"{', '.join(TRUNCATION)}.")
    return truncation


def _default_length(pad: str, trunc: str, model_max_length: int, trace: Trace) -> tuple[str, str, int | None]:
    """No max_length given: model_max_length is the limit, unless the tokenizer has none."""
    unlimited = model_max_length > LARGE_INTEGER
    max_length = None
    if pad == "max_length":
        if unlimited:
            pad = "do_not_pad"
            trace.warn("call", "padding='max_length' without max_length and no model_max_length → no padding",
                       "model_max_length", model_max_length)
        else:
            max_length = model_max_length
    if trunc != "do_not_truncate":
        if unlimited:
            trunc = "do_not_truncate"
            trace.warn("call", "truncation without max_length and no model_max_length → no truncation",
                       "model_max_length", model_max_length)
        else:
            max_length = model_max_length
    return pad, trunc, max_length
