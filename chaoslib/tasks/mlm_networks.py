"""The MLM chapter's networks: which parameters are pretrained and which re-drawn, as in the authors' runs.

The authors (``calc_masked_language_modeling.py`` with ``albert_utils.reset_parameters``) always
load the pretrained ``AlbertForMaskedLM`` and then re-draw parts of it, every parameter
uniform(+-1/sqrt(d)) with d its last dimension (our ``mlm`` init scheme):

- the **random encoder** (``--init_model``) re-draws ``model.albert``: embeddings and the shared
  layer. The MLM head's dense layer, LayerNorm and output bias keep their pretrained values;
  its decoder weight, tied to the input word embeddings, follows the new embeddings
  (:func:`random_encoder`).
- the **re-initialised read-out** (``--init_readout``) re-draws every parameter of
  ``model.predictions``. That includes the decoder weight, which IS the input word-embedding
  matrix: so the encoder's input embeddings are re-drawn too, and the encoder sees other inputs
  than in the other modes (:func:`reinit_readout` with ``tied=True``, mode ``reinit``). The
  variant that keeps the embeddings (``tied=False``, mode ``reinit_untied``) first gives the
  decoder its own copy of the weight, then re-draws the head.

The encoder (and with it the tied decoder weight) is frozen in every mode; the head is then
trained (``trained``, ``reinit``, ``reinit_untied``) or evaluated as it is (``untrained``).
"""

from __future__ import annotations

import copy

from torch import nn

from chaoslib.errors import ChaoslibError
from chaoslib.model.init_schemes import check_init, initialize
from chaoslib.model.network import Network

MODES: tuple[str, ...] = ("trained", "reinit", "reinit_untied", "untrained")
MODE_DESCRIPTIONS = {
    "trained": "model's head, trained",
    "reinit": "re-initialised head (with the tied input embeddings), trained",
    "reinit_untied": "re-initialised head (input embeddings kept), trained",
    "untrained": "model's head, untrained",
}
TRAINED_MODES = ("trained", "reinit", "reinit_untied")


def check_modes(modes) -> tuple[str, ...]:
    unknown = set(modes) - set(MODES)
    if unknown or not modes:
        raise ChaoslibError(f"modes={list(modes)}; choose from {list(MODES)}.")
    return tuple(m for m in MODES if m in modes)


def _mlm_model(model: nn.Module) -> nn.Module:
    if not (hasattr(model, "albert") and hasattr(model, "predictions")):
        raise ChaoslibError(
            "the model has no MLM prediction head; load it with "
            "chaoslib.model.network.Network(...).load(head='mlm')."
        )
    return model


def decoder_is_tied(model: nn.Module) -> bool:
    """Whether the MLM decoder weight is the input word-embedding matrix (one tensor)."""
    return _mlm_model(model).predictions.decoder.weight is model.albert.embeddings.word_embeddings.weight


def random_encoder(
    model: nn.Module, info: Network, seed: int, scheme: str = "mlm"
) -> tuple[nn.Module, Network]:
    """The authors' random encoder: a copy of ``model`` with ``model.albert`` re-drawn (``scheme``, ``seed``).

    model: a pretrained ``AlbertForMaskedLM`` (not modified). The head's dense layer, LayerNorm and
    output bias stay as they are; a tied decoder weight follows the new word embeddings.
    Returns the network and a Network (weights ``random``, the scheme and seed) whose source
    says where the head came from.
    """
    check_init(scheme)
    if info.weights != "pretrained":
        raise ChaoslibError(
            f"random_encoder needs the pretrained network (got {info.label()}): the authors re-draw the "
            "encoder of the pretrained model and keep its head."
        )
    net = copy.deepcopy(_mlm_model(model))  # deepcopy keeps the decoder tied to the embeddings
    initialize(net.albert, scheme, seed)
    head = "tied to the new embeddings" if decoder_is_tied(net) else "kept"
    source = (
        f"encoder (embeddings and layer) random {scheme} #{seed}; MLM head dense, LayerNorm and bias from "
        f"{info.name} pretrained ({info.source}), decoder weight {head}"
    )
    return net, Network(info.name, "random", init=scheme, seed=int(seed), source=source)


def reinit_readout(model: nn.Module, seed: int, scheme: str = "mlm", tied: bool = True) -> nn.Module:
    """A copy of ``model`` with every parameter of its MLM head re-drawn (``scheme``, ``seed``).

    tied=True (the authors): a decoder weight tied to the input word embeddings is re-drawn with
    the head, so the encoder's input embeddings change as well. tied=False: the decoder gets its
    own copy first, so the embeddings keep their values and only the head is re-drawn.
    Drawn in ``model.predictions.named_parameters()`` order (bias, LayerNorm, dense, decoder).
    """
    check_init(scheme)
    net = copy.deepcopy(_mlm_model(model))
    if not tied and decoder_is_tied(net):
        net.predictions.decoder.weight = nn.Parameter(net.predictions.decoder.weight.detach().clone())
    initialize(net.predictions, scheme, seed)
    return net


def network_for_mode(
    model: nn.Module, mode: str, readout_seed: int, readout_scheme: str = "mlm"
) -> nn.Module:
    """The network a mode runs: ``model`` itself (trained, untrained) or its re-initialised-head copy."""
    check_modes([mode])
    if mode == "reinit":
        return reinit_readout(model, readout_seed, readout_scheme, tied=True)
    if mode == "reinit_untied":
        return reinit_readout(model, readout_seed, readout_scheme, tied=False)
    return model
