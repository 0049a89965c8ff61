"""What the dynamics asks of a weight-tied network: ONE post-LayerNorm Transformer layer, iterated.

A :class:`WeightTiedMap` turns token ids into a state ``x(0)`` of shape (batch, tokens, hidden) and
applies the same layer again and again, ``x(t+1) = F(x(t))``. ``chaoslib.dynamics`` (exponents,
synchronisation, effective dimension, trajectories, the reduced map) only uses the members below, so
any network that provides them can be studied. Implementations:

- :class:`chaoslib.model.albert_map.AlbertMap`: ALBERT's shared layer (the network of the book);
- :class:`chaoslib.model.bert_map.BertLayerMap`: one layer of a BERT encoder, applied as if shared.

The protocol is ``runtime_checkable``: ``isinstance(m, WeightTiedMap)`` checks that the members exist
(not their signatures).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:  # only named in annotations: the dynamics that import this need no tokenizer
    from chaoslib.data.tokenization import Encoded

INTERNALS = ("attention_probs", "attention_context", "attention_output", "ffn_activation")
"""The intermediate values of one step, by name (``step_with_internals`` and the ``Internal`` probe):

attention_probs: (batch, heads, tokens, tokens), each row sums to 1;
attention_context: (batch, tokens, hidden), the values mixed by attention, heads concatenated;
attention_output: (batch, tokens, hidden), after the output projection, residual and first LayerNorm;
ffn_activation: (batch, tokens, ffn), the feed-forward block's hidden activation."""


@runtime_checkable
class WeightTiedMap(Protocol):
    """One weight-tied layer as a discrete-time map on states (batch, tokens, hidden).

    ``attention_mask`` everywhere: ``None`` (every position attends and is attended to, pads
    included: the dynamics default) or a (batch', tokens) 1/0 mask, batch a multiple of batch'
    (the mask is tiled, so perturbed copies stacked along the batch share it).
    """

    @property
    def hidden_size(self) -> int:
        """D, the last dimension of a state."""
        ...

    def embed(self, encoded: Encoded) -> torch.Tensor:
        """x(0): (batch, tokens) ids of ``encoded`` -> (batch, tokens, hidden), on the map's device."""
        ...

    def step(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """F(x): (batch, tokens, hidden) -> same shape; differentiable by ``torch.func.jvp``."""
        ...

    def __call__(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The same as :meth:`step`: a map is a callable x -> F(x)."""
        ...

    def step_with_internals(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None, names: tuple[str, ...] = INTERNALS
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """F(x) and the intermediate values of that step, a dict holding at least ``names`` (see
        :data:`INTERNALS` for their shapes); F(x) equals :meth:`step` exactly."""
        ...

    def synchronised_step(self, y: torch.Tensor) -> torch.Tensor:
        """The layer on a synchronised state: y (batch, hidden) -> (batch, hidden).

        When every token holds y, attention is uniform and the layer acts on each token alone; this
        is that token's next value, computed without the token axis (the reduced map
        ``chaoslib.dynamics.reduced_map.ReducedMap`` iterates it).
        """
        ...

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The network's pooled output of a state: (batch, tokens, hidden) -> (batch, hidden)."""
        ...

    def iterate(
        self, x: torch.Tensor, n_steps: int, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """F applied ``n_steps`` times, nothing recorded: (batch, tokens, hidden) -> same shape."""
        ...
