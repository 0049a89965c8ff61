"""Named, seeded random initialisations.

The original scripts meant three different things by "random init"; each is a scheme here:

- ``tf``   (dynamics chapters): dense kernels truncated normal sigma=0.02 cut at 2 sigma, biases 0,
  LayerNorm gamma=1 beta=0, word/token-type embeddings uniform(-0.05, 0.05), position
  embeddings truncated normal 0.02, the 128 -> D embedding projection Glorot uniform, kernel AND
  bias (see ``_tf_value``).
- ``glue`` (GLUE chapter): every parameter whose name ends in ``weight`` truncated normal 0.02
  (LayerNorm gains included, so they start near 0), everything else 0.
- ``mlm``  (MLM chapter): every parameter uniform(-1/sqrt(d), 1/sqrt(d)), d its last dimension.
- ``hf``   transformers' own ``_init_weights``.
- ``tf-gain`` (a control, beyond the paper): the ``tf`` scheme with the shared layer's dense kernels drawn at
  sigma = 0.02 * sqrt(1024 / D), so that each matrix has albert-large's per-matrix gain sigma * sqrt(D)
  (about 0.64) at any hidden size D; at D = 128 plain ``tf`` gives about 0.23, a near-identity layer with
  near-uniform attention. The draws are the ``tf`` scheme's, those kernels scaled (truncation included).

Draws happen on the CPU from one ``torch.Generator`` in parameter-name order, so a seed gives
the same network on every device.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from chaoslib.errors import ChaoslibError

INIT_SCHEMES: tuple[str, ...] = ("tf", "glue", "mlm", "hf", "tf-gain")
GAIN_REFERENCE_HIDDEN = 1024  # albert-large-v2, the paper's network
TF_SIGMA = 0.02


def gain_matched_sigma(hidden_size: int) -> float:
    """The kernels' sigma that gives a D-wide layer albert-large's per-matrix gain: 0.02 * sqrt(1024 / D)."""
    return TF_SIGMA * math.sqrt(GAIN_REFERENCE_HIDDEN / hidden_size)


def _trunc_normal(shape: torch.Size, gen: torch.Generator, std: float = 0.02) -> torch.Tensor:
    t = torch.empty(shape)
    return nn.init.trunc_normal_(t, mean=0.0, std=std, a=-2 * std, b=2 * std, generator=gen)


def _uniform(shape: torch.Size, gen: torch.Generator, bound: float) -> torch.Tensor:
    return torch.empty(shape).uniform_(-bound, bound, generator=gen)


def glorot_bound(shape: torch.Size | tuple[int, ...]) -> float:
    """Keras' Glorot-uniform limit sqrt(6 / (fan_in + fan_out)) for a tensor of ``shape``.

    Keras (``VarianceScaling._compute_fans``) takes fan_in = fan_out = shape[0] for a vector, and
    (shape[0], shape[1]) for a matrix; the sum is the same for torch's (out, in) layout, so one
    rule serves the projection's kernel (E, D) and its bias (D,): the bias bound is sqrt(3 / D).
    """
    if len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_out, fan_in = shape
    else:
        raise ChaoslibError(f"glorot_bound takes a vector or a matrix, got shape {tuple(shape)}.")
    return math.sqrt(6.0 / (fan_in + fan_out))


def _tf_value(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    leaf = name.rsplit(".", 1)[-1]
    if "LayerNorm" in name or "layer_norm" in name:
        return torch.ones(shape) if leaf == "weight" else torch.zeros(shape)
    if "embedding_hidden_mapping_in" in name:
        # The authors' EmbeddingsProjector (src/library/bert/embeddings.py) creates kernel AND bias
        # with add_weight(...) and no initializer, which Keras fills with glorot_uniform; so the
        # bias is NOT zero like every other bias of the tf scheme.
        return _uniform(shape, gen, glorot_bound(shape))
    if leaf == "bias":
        return torch.zeros(shape)
    if "word_embeddings" in name or "token_type_embeddings" in name:
        return _uniform(shape, gen, 0.05)
    if "position_embeddings" in name:
        return _trunc_normal(shape, gen)
    return _trunc_normal(shape, gen)


def _glue_value(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    return _trunc_normal(shape, gen) if name.endswith("weight") else torch.zeros(shape)


def _mlm_value(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    return _uniform(shape, gen, 1.0 / math.sqrt(shape[-1]))


def _tf_gain_value(name: str, shape: torch.Size, gen: torch.Generator, hidden_size: int) -> torch.Tensor:
    value = _tf_value(name, shape, gen)
    if "albert_layer_groups" in name and name.endswith("weight") and "LayerNorm" not in name:
        value = value * (gain_matched_sigma(hidden_size) / TF_SIGMA)
    return value


_SCHEMES = {"tf": _tf_value, "glue": _glue_value, "mlm": _mlm_value}


def check_init(init: str) -> str:
    if init not in INIT_SCHEMES:
        raise ChaoslibError(f"init={init!r} is not a known scheme; use one of {list(INIT_SCHEMES)}.")
    return init


@torch.no_grad()
def initialize(model: nn.Module, init: str, seed: int) -> nn.Module:
    """Re-initialise every parameter of ``model`` in place with scheme ``init`` and ``seed``.

    Tied parameters (the MLM decoder shares the word embeddings) are drawn once.
    """
    check_init(init)
    if init == "hf":
        raise ChaoslibError(
            "init='hf' is transformers' constructor init: build the model with chaoslib.load_albert "
            "(which seeds it) instead of re-initialising an existing one."
        )
    gen = torch.Generator().manual_seed(seed)
    if init == "tf-gain":
        hidden = model.config.hidden_size
        draw = lambda name, shape, g: _tf_gain_value(name, shape, g, hidden)  # noqa: E731
    else:
        draw = _SCHEMES[init]
    for name, param in model.named_parameters():  # named_parameters() yields a tied tensor once
        param.copy_(draw(name, param.shape, gen).to(param.dtype))
    return model
