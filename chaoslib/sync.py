"""Token synchronisation (SPEC 2.3): how far apart the token states are, step by step."""

from __future__ import annotations

import torch


def token_spread(x: torch.Tensor) -> torch.Tensor:
    """sigma: the standard deviation over token positions, averaged over hidden units.

    x: (batch, tokens, hidden) -> (batch,). Population std (ddof=0); pads count as tokens.
    """
    return x.std(dim=1, unbiased=False).mean(dim=-1)
