"""Batched toy maps with known Lyapunov exponents, to validate the estimators.

Every map is a callable ``step(x: (batch, *state)) -> (batch, *state)`` like the ``step`` of a
:class:`~chaoslib.model.protocol.WeightTiedMap`, written with torch operations only (so
``torch.func.jvp`` goes through it), and has ``initial_states(batch, seed)`` and
``reference_exponents`` (per step of the map) with the literature value it comes from.

- :class:`LogisticMap`, r = 4: ``x -> r x (1 - x)``, state (1,), lambda = ln 2 (exact).
- :class:`HenonMap`, a = 1.4, b = 0.3: state (2,), lambda = 0.419, -1.623 per step; their sum
  is ln b exactly (the Jacobian's determinant is -b everywhere).
- :class:`Lorenz63`, sigma = 10, rho = 28, beta = 8/3, one fixed-step RK4 step of length dt as a
  map: state (3,), exponents per unit time 0.906, 0, -14.57 (Sprott, "Chaos and
  Time-Series Analysis", 2003); per map step multiply by dt. Their sum is
  -(sigma + 1 + beta) exactly for the flow.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


class LogisticMap:
    """``x -> r x (1 - x)`` on (batch, 1)."""

    def __init__(self, r: float = 4.0):
        self.r = float(r)

    @property
    def reference_exponents(self) -> tuple[float, ...]:
        if self.r != 4.0:
            raise NotImplementedError("the exponent is known in closed form only for r=4 (ln 2).")
        return (math.log(2.0),)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.r * x * (1.0 - x)

    def initial_states(self, batch: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """(batch, 1) uniform on (0.05, 0.95), away from the fixed points 0 and 3/4."""
        rng = np.random.default_rng(seed)
        return torch.from_numpy(rng.uniform(0.05, 0.95, size=(batch, 1))).to(dtype)


class HenonMap:
    """``(x, y) -> (1 - a x^2 + y, b x)`` on (batch, 2)."""

    def __init__(self, a: float = 1.4, b: float = 0.3):
        self.a, self.b = float(a), float(b)

    @property
    def reference_exponents(self) -> tuple[float, ...]:
        if (self.a, self.b) != (1.4, 0.3):
            raise NotImplementedError("reference exponents are tabulated for a=1.4, b=0.3 only.")
        return (0.41922, math.log(0.3) - 0.41922)  # Sprott (2003): 0.41922, -1.62319

    def __call__(self, state: torch.Tensor) -> torch.Tensor:
        x, y = state[:, 0], state[:, 1]
        return torch.stack([1.0 - self.a * x * x + y, self.b * x], dim=1)

    def initial_states(
        self, batch: int, seed: int = 0, dtype: torch.dtype = torch.float64, n_transient: int = 200
    ) -> torch.Tensor:
        """(batch, 2) points on the attractor: small random starts near the origin (inside the
        basin), iterated ``n_transient`` steps."""
        rng = np.random.default_rng(seed)
        x = torch.from_numpy(rng.uniform(-0.1, 0.1, size=(batch, 2))).to(dtype)
        for _ in range(n_transient):
            x = self(x)
        return x


class Lorenz63:
    """One classical RK4 step of length ``dt`` of the Lorenz-63 flow, on (batch, 3)."""

    def __init__(self, dt: float = 0.01, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0):
        self.dt, self.sigma, self.rho, self.beta = float(dt), float(sigma), float(rho), float(beta)

    @property
    def reference_exponents_per_time(self) -> tuple[float, ...]:
        if (self.sigma, self.rho, self.beta) != (10.0, 28.0, 8.0 / 3.0):
            raise NotImplementedError("reference exponents are tabulated for sigma=10, rho=28, beta=8/3.")
        return (0.9056, 0.0, -14.5723)

    @property
    def reference_exponents(self) -> tuple[float, ...]:
        """Per map step (= per unit time times dt)."""
        return tuple(lam * self.dt for lam in self.reference_exponents_per_time)

    def vector_field(self, s: torch.Tensor) -> torch.Tensor:
        """(batch, 3) -> (batch, 3): (sigma (y - x), x (rho - z) - y, x y - beta z)."""
        return self._scaled_field(s, 1.0)

    def _scaled_field(self, s: torch.Tensor, c: float) -> torch.Tensor:
        # c * f(s) as linear part + x * (0, -z, y), written with products of tensors only:
        # scalar-times-tensor operations are ~10x slower under forward-mode AD in torch 2.x,
        # and the tangent propagation of the spectrum goes through this map at every step.
        lin = torch.tensor(
            [[-self.sigma, self.sigma, 0.0], [self.rho, -1.0, 0.0], [0.0, 0.0, -self.beta]],
            dtype=s.dtype,
            device=s.device,
        )
        quad = torch.tensor(
            [[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=s.dtype, device=s.device
        )
        return F.linear(s, c * lin) + s[:, :1] * F.linear(s, c * quad)

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        h = self.dt
        k1 = self._scaled_field(s, h / 2)  # h/2 * f(s)
        k2 = self._scaled_field(s + k1, h / 2)
        k3 = self._scaled_field(s + k2, h)
        k4 = self._scaled_field(s + k3, h)
        # s + h/6 (f1 + 2 f2 + 2 f3 + f4) = s + (2 k1 + 4 k2 + 2 k3 + k4) / 6
        weights = torch.tensor([[2.0, 4.0, 2.0, 1.0]], dtype=s.dtype, device=s.device) / 6.0
        return s + F.linear(torch.stack([k1, k2, k3, k4], dim=-1), weights)[..., 0]

    def initial_states(
        self, batch: int, seed: int = 0, dtype: torch.dtype = torch.float64, transient_time: float = 20.0
    ) -> torch.Tensor:
        """(batch, 3) points on the attractor: random starts near (1, 1, 20), run for ``transient_time``."""
        rng = np.random.default_rng(seed)
        s = torch.from_numpy(np.array([1.0, 1.0, 20.0]) + rng.normal(scale=1.0, size=(batch, 3))).to(dtype)
        for _ in range(int(round(transient_time / self.dt))):
            s = self(s)
        return s
