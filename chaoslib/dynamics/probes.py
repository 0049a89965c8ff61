"""What a trajectory run records at each step, so that memory stays bounded.

A probe maps the state x(t) (and, if it asks for them, the layer's intermediate values of the
step that produced x(t), which the runner gets from the map's ``step_with_internals``, see
:class:`chaoslib.model.protocol.WeightTiedMap`) to a small tensor per sample. The runner stacks
those over steps into an ``xarray`` variable with dims ``("sample", "step", *probe.dims)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from chaoslib.dynamics.sync import token_spread
from chaoslib.errors import ChaoslibError
from chaoslib.model.protocol import INTERNALS


def _as_index(values: Sequence[int] | None, size: int, what: str) -> list[int]:
    if values is None:
        return list(range(size))
    out = [int(v) for v in values]
    if not out or min(out) < -size or max(out) >= size:
        raise ChaoslibError(f"{what}={out} out of range for size {size}.")
    return [v % size for v in out]


@dataclass
class Probe:
    """Base class. ``name`` becomes the variable name; ``needs`` lists required internals."""

    name: str = ""
    needs: tuple[str, ...] = ()

    def bind(self, x: torch.Tensor) -> None:
        """Resolve index lists against the state shape (batch, tokens, hidden) before the run."""

    def dims(self) -> tuple[str, ...]:
        raise NotImplementedError

    def coords(self) -> dict[str, list[int]]:
        return {}

    def __call__(self, x: torch.Tensor, internals: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


@dataclass
class FullState(Probe):
    """The whole state x(t): (batch, tokens, hidden). Memory grows as T*N*D: for short runs."""

    name: str = "state"

    def dims(self):
        return ("token", "unit")

    def __call__(self, x, internals):
        return x


@dataclass
class Units(Probe):
    """Chosen hidden units of chosen tokens: (batch, len(tokens), len(units)).

    Dims are ``<name>_token`` and ``<name>_unit`` with the chosen indices as coordinates.
    """

    tokens: Sequence[int] | None = (0,)
    units: Sequence[int] | None = (0,)
    name: str = "units"

    def bind(self, x):
        self.tokens = _as_index(self.tokens, x.shape[1], "tokens")
        self.units = _as_index(self.units, x.shape[2], "units")
        self._t = torch.tensor(self.tokens, device=x.device)
        self._u = torch.tensor(self.units, device=x.device)

    def dims(self):
        return (f"{self.name}_token", f"{self.name}_unit")

    def coords(self):
        return {f"{self.name}_token": list(self.tokens), f"{self.name}_unit": list(self.units)}

    def __call__(self, x, internals):
        return x.index_select(1, self._t).index_select(2, self._u)


@dataclass
class TokenSpread(Probe):
    """sigma(t) of ``chaoslib.dynamics.sync.token_spread``: (batch,)."""

    name: str = "token_spread"

    def dims(self):
        return ()

    def __call__(self, x, internals):
        return token_spread(x)


@dataclass
class StateNorm(Probe):
    """Frobenius norm of each sample's state: (batch,)."""

    name: str = "state_norm"

    def dims(self):
        return ()

    def __call__(self, x, internals):
        return x.flatten(1).norm(dim=1)


@dataclass
class Internal(Probe):
    """An intermediate value of the layer for the step into x(t), one of
    :data:`chaoslib.model.protocol.INTERNALS` (the map's ``step_with_internals`` computes it).

    ``kind``: attention_probs -> (batch, len(heads), len(tokens), tokens);
    attention_context / attention_output / ffn_activation -> (batch, len(tokens), len(units)).
    At step 0 (no layer applied yet) the value is NaN.
    """

    kind: str = "attention_probs"
    heads: Sequence[int] | None = (0,)
    tokens: Sequence[int] | None = None
    units: Sequence[int] | None = None
    name: str = ""
    needs: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if self.kind not in INTERNALS:
            raise ChaoslibError(f"Internal kind={self.kind!r}; choose from {list(INTERNALS)}.")
        self.name = self.name or self.kind
        self.needs = (self.kind,)

    def bind(self, x):
        self.tokens = _as_index(self.tokens, x.shape[1], "tokens")
        self._t = torch.tensor(self.tokens, device=x.device)
        if self.kind == "attention_probs":
            self._n_tokens = x.shape[1]
            self._h = torch.tensor(self.heads, device=x.device) if self.heads is not None else None
        else:
            self._u = None if self.units is None else torch.tensor(list(self.units), device=x.device)

    def dims(self):
        if self.kind == "attention_probs":
            return (f"{self.name}_head", f"{self.name}_token", "key_token")
        return (f"{self.name}_token", f"{self.name}_unit")

    def coords(self):
        out = {f"{self.name}_token": list(self.tokens)}
        if self.kind == "attention_probs" and self.heads is not None:
            out[f"{self.name}_head"] = list(self.heads)
        if self.kind != "attention_probs" and self.units is not None:
            out[f"{self.name}_unit"] = list(self.units)
        return out

    def __call__(self, x, internals):
        value = internals[self.kind]
        if self.kind == "attention_probs":
            if self._h is not None:
                value = value.index_select(1, self._h)
            return value.index_select(2, self._t)
        value = value.index_select(1, self._t)
        return value if self._u is None else value.index_select(2, self._u)
