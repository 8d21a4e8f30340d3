"""Activation functions by their config.json names (`hidden_act`, `activation`, `activation_function`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")  # = transformers' gelu_new / gelu_pytorch_tanh


def _quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": _gelu_tanh,  # GPT-2's formula; torch's fused kernel equals it to ~1e-7
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_tanh,
    "quick_gelu": _quick_gelu,
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}


def get_activation(name: str):
    """The function for a config's activation name; unknown names raise ConfigError listing the known ones."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(f"activation {name!r} is not supported; supported: {', '.join(ACTIVATIONS)}.") from None
