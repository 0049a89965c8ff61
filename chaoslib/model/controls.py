"""Control networks derived from a reference network, so that a comparison can say what pretraining did.

A pretrained network differs from a random one in the scale of its weights, in the geometry of its
embeddings and in the structure of its shared layer. Each control removes one of these:

- :func:`shuffled`: every parameter tensor of the reference with its entries permuted within itself (the same
  multiset of values, so the same scale and the same distribution, but no structure);
- :func:`hybrid`: the embeddings (word, position, token type, their LayerNorm) and the embedding projection of
  one network with the shared layer (and pooler) of another: "pretrained embeddings, random layer" and the
  reverse separate the embeddings' geometry from the layer's dynamics;
- the gain-matched random network is an init scheme, ``tf-gain`` (:mod:`chaoslib.model.init_schemes`), and the
  untrained network is the ``hf`` scheme (transformers' initialisation, step 0 of pretraining).

Both functions return a new model (the inputs are not changed), in eval mode.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from chaoslib.errors import ChaoslibError

# the parts of ALBERT that map tokens to x(0): everything before the shared layer
EMBEDDING_PARTS = ("embeddings.", "encoder.embedding_hidden_mapping_in.")


def _albert(model: nn.Module) -> nn.Module:
    return getattr(model, "albert", model)


@torch.no_grad()
def shuffled(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with the entries of each parameter tensor permuted within that tensor.

    Every tensor keeps its shape and its multiset of values; the permutation of a tensor is drawn from
    ``torch.Generator().manual_seed(seed)`` in parameter-name order (tied tensors once).
    """
    out = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(int(seed))
    for _, param in out.named_parameters():
        flat = param.detach().reshape(-1)
        param.copy_(flat[torch.randperm(flat.numel(), generator=generator)].reshape(param.shape))
    return out.eval()


def is_embedding_part(name: str) -> bool:
    """True for a parameter of the embeddings or the embedding projection (name relative to the AlbertModel)."""
    return name.startswith(EMBEDDING_PARTS)


@torch.no_grad()
def hybrid(embeddings_from: nn.Module, layer_from: nn.Module) -> nn.Module:
    """A network with the embeddings, embedding LayerNorm and projection of ``embeddings_from`` and the shared
    layer and pooler of ``layer_from`` (a copy of ``layer_from`` with the embedding parts replaced).

    Both must have the same architecture (vocabulary, sizes); heads other than the AlbertModel are those of
    ``layer_from``.
    """
    source, out = _albert(embeddings_from), copy.deepcopy(layer_from)
    target = _albert(out)
    source_params = dict(source.named_parameters())
    for name, param in target.named_parameters():
        if not is_embedding_part(name):
            continue
        if name not in source_params or source_params[name].shape != param.shape:
            raise ChaoslibError(f"hybrid: {name} differs between the two networks; give networks of one architecture.")
        param.copy_(source_params[name])
    return out.eval()
