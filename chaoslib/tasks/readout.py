"""The handwriting readout's window solver: every window of steps fitted and scored at once.

Each STS-B pair's [CLS] state h_i(t) is recorded at every step t (``chaoslib.tasks.readout_run``
runs the map). A window of L steps, [start, start + L), is read out point by point by ONE linear
map shared across the window's steps: output k of sample i is

    yhat_i(k) = W^T [h_i(start + k); 1]          W: (hidden + 1, 2), k = 0..L-1,

and its target is the glyph over L steps (``chaoslib.data.glyphs.glyph_targets``), mixed by the
pair's similarity score s_i: y_i(k) = (1 - s_i/5) U_L(k) + (s_i/5) S_L(k). The targets are the pen
VELOCITIES by default (the authors' ``write_mode`` 0; the drawing is their cumulative sum), the
positions on request (``targets="position"``).

Fit (train): ridge least squares,
    min_W  sum_i sum_k ||yhat_i(k) - y_i(k)||^2 + alpha ||W_hidden||_F^2,
    alpha = ridge * trace(G_hidden) / hidden   (relative, so ``ridge`` is scale-free; the bias is
    not penalised). The authors call ``numpy.linalg.lstsq`` (the minimum-norm solution, no ridge);
    a small ridge is needed here because the normal equations are solved directly: a LayerNorm
    output satisfies one linear identity (sum_j (h_j - beta_j) / gamma_j = 0), so [h; 1] is
    exactly collinear and the plain normal equations are singular.

Two scores on dev, both reported:
    pair NMSE (the authors' ``normalized_mse``): per dev pair, sum_k ||yhat_i(k) - y_i(k)||^2 /
        sum_k ||y_i(k)||^2 (UNCENTRED), then the mean over pairs. It needs the dev states.
    pooled NMSE (ours): sum_{i,k} ||yhat - y||^2 / sum_{i,k} ||y - ybar||^2, ybar the mean target
        point over dev pairs and window steps (CENTRED): 1 is what the best constant output scores.
The best window is the minimum of the chosen ``metric`` over windows of length >= ``min_length``
(20, as the authors' ``view_reconstruction_error.py``, which drops shorter windows from the heat
map and the search).

All windows at once: with per-step statistics of a split,
    G_t = sum_i [h_i(t); 1][h_i(t); 1]^T,
    a_t = sum_i (1 - s_i/5) [h_i(t); 1],   b_t = sum_i (s_i/5) [h_i(t); 1],
a window's normal equations are exact sums over its steps: the Gram from prefix sums
(C[start + L] - C[start]) and the cross term sum_k a_{start+k} U_L(k)^T + b_{start+k} S_L(k)^T
(which depends on the glyph point k, so it is contracted per window, at a cost independent of
the number of samples). The pooled dev error of any W follows from the same statistics of the dev
split: SSE = tr(W^T G W) - 2 tr(W^T B) + sum ||y||^2. The pair NMSE weighs each pair by its own
target norm, so it is computed from the dev states: one product of the states with every
window's W per window length. No window is refitted from the states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from chaoslib.data.glyphs import MAX_SCORE, TARGET_MODES, glyph_targets, mix_targets
from chaoslib.errors import ChaoslibError

# Relative ridge. On the offline data (random albert-base-v2, 256 train / 128 dev STS-B pairs,
# windows 0..15 x 1..16, position targets, pooled NMSE) the best dev NMSE was 0.50, 0.24, 0.24,
# 0.26, 0.28, 0.32 for ridge 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1: below 1e-4 the readout overfits,
# above it underfits. With all of STS-B (5749 train pairs, more rows than features) the fit is
# even less sensitive.
DEFAULT_RIDGE = 1e-4
MIN_LENGTH = 20  # the authors' heat map and best window only consider windows of >= 20 steps
METRICS = ("pair", "pooled")


def pair_nmse(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The authors' normalised MSE of each sample: sum of squared error over sum of squared target.

    Args:
        predictions, targets: (batch, steps, 2).

    Returns:
        (batch,) sum_k ||yhat(k) - y(k)||^2 / sum_k ||y(k)||^2 (uncentred); average it over samples.
    """
    predictions, targets = np.asarray(predictions, np.float64), np.asarray(targets, np.float64)
    if predictions.shape != targets.shape or predictions.ndim != 3:
        raise ChaoslibError(
            f"predictions {predictions.shape} and targets {targets.shape} must both be (batch, steps, 2)."
        )
    return np.sum((predictions - targets) ** 2, axis=(1, 2)) / np.sum(targets**2, axis=(1, 2))


def score_weights(scores: np.ndarray | torch.Tensor):
    """The mixing weights (u, v) = (1 - s/5, s/5) of the "U" and "S" targets. scores: (batch,)."""
    return 1.0 - scores / MAX_SCORE, scores / MAX_SCORE


# -------------------------------------------------------------------------------------- statistics


class ReadoutStatistics:
    """Per-step sufficient statistics of one split for the windowed readout.

    Accumulate with :meth:`update` over batches of samples (memory is independent of their
    number), then read the prefix sums. All sums are float64.

    Attributes (after at least one update):
        n_samples: samples seen.
        gram_prefix: (steps + 1, hidden + 1, hidden + 1); gram_prefix[t] = sum_{t' < t} G_t'.
        a, b: (steps, hidden + 1) score-weighted feature sums (weights 1 - s/5 and s/5).
        weight_sums: dict of sum u, sum v, sum u^2, sum uv, sum v^2 (u = 1 - s/5, v = s/5).
    """

    def __init__(self, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.n_samples = 0
        self._gram = None
        self.a = self.b = None
        self.weight_sums = dict.fromkeys(("u", "v", "uu", "uv", "vv"), 0.0)
        self._prefix = None

    @property
    def n_steps(self) -> int:
        return 0 if self._gram is None else self._gram.shape[0]

    @property
    def hidden(self) -> int:
        return 0 if self._gram is None else self._gram.shape[1] - 1

    @torch.no_grad()
    def update(
        self, states: np.ndarray | torch.Tensor, scores: np.ndarray | Sequence[float]
    ) -> ReadoutStatistics:
        """Add samples. states: (batch, steps, hidden); scores: (batch,) in [0, 5]."""
        h = torch.as_tensor(states).to(device=self.device, dtype=torch.float64)
        s = torch.as_tensor(np.asarray(scores, dtype=np.float64), device=self.device)
        if h.ndim != 3:
            raise ChaoslibError(f"states must be (batch, steps, hidden), got shape {tuple(h.shape)}.")
        if s.shape != (h.shape[0],):
            raise ChaoslibError(f"scores must be (batch,) = ({h.shape[0]},), got shape {tuple(s.shape)}.")
        if bool((s < 0).any()) or bool((s > MAX_SCORE).any()):
            raise ChaoslibError(f"scores must lie in [0, {MAX_SCORE}] (STS-B similarity).")
        if self._gram is not None and h.shape[1:] != (self.n_steps, self.hidden):
            raise ChaoslibError(
                f"states have (steps, hidden) = {tuple(h.shape[1:])}, "
                f"earlier updates had {(self.n_steps, self.hidden)}."
            )
        if not torch.isfinite(h).all():
            raise ChaoslibError("states contain NaN or inf; the trajectory diverged or was not filled.")
        # (steps, batch, hidden + 1)
        features = torch.cat([h, torch.ones_like(h[..., :1])], dim=-1).transpose(0, 1)
        u, v = score_weights(s)
        gram = features.transpose(1, 2) @ features
        a, b = torch.einsum("tbd,b->td", features, u), torch.einsum("tbd,b->td", features, v)
        if self._gram is None:
            self._gram, self.a, self.b = gram, a, b
        else:
            self._gram += gram
            self.a += a
            self.b += b
        for key, value in (("u", u), ("v", v), ("uu", u * u), ("uv", u * v), ("vv", v * v)):
            self.weight_sums[key] += float(value.sum())
        self.n_samples += h.shape[0]
        self._prefix = None
        return self

    @property
    def gram_prefix(self) -> torch.Tensor:
        if self._gram is None:
            raise ChaoslibError("no samples yet; call update(states, scores) first.")
        if self._prefix is None:
            zero = torch.zeros_like(self._gram[:1])
            self._prefix = torch.cat([zero, torch.cumsum(self._gram, dim=0)])
        return self._prefix

    def window_gram(self, starts: torch.Tensor, length: int) -> torch.Tensor:
        """sum over the window's steps of G_t, for each start. Returns (len(starts), hidden+1, hidden+1)."""
        prefix = self.gram_prefix
        first, n = int(starts[0]), len(starts)
        if bool((starts == torch.arange(first, first + n, device=starts.device)).all()):
            return prefix[first + length : first + length + n] - prefix[first : first + n]  # views, no gather
        return prefix[starts + length] - prefix[starts]

    def window_cross(
        self, starts: torch.Tensor, start_glyph: torch.Tensor, end_glyph: torch.Tensor
    ) -> torch.Tensor:
        """sum_i sum_k [h_i(start+k); 1] y_i(k)^T for each start. glyphs: (L, 2).

        Returns:
            (len(starts), hidden+1, 2).
        """
        steps = starts[:, None] + torch.arange(start_glyph.shape[0], device=starts.device)
        weighted = torch.cat([self.a[steps], self.b[steps]], dim=1)  # (starts, 2L, hidden+1)
        return weighted.transpose(1, 2) @ torch.cat([start_glyph, end_glyph])

    def target_moments(
        self, start_glyph: torch.Tensor, end_glyph: torch.Tensor
    ) -> tuple[float, torch.Tensor]:
        """sum_{i,k} ||y_i(k)||^2 and the mean target point (2,) of a window whose glyphs are (L, 2)."""
        w = self.weight_sums
        total = (
            w["uu"] * (start_glyph**2).sum()
            + 2 * w["uv"] * (start_glyph * end_glyph).sum()
            + w["vv"] * (end_glyph**2).sum()
        )
        mean = (w["u"] * start_glyph.sum(0) + w["v"] * end_glyph.sum(0)) / (
            self.n_samples * start_glyph.shape[0]
        )
        return float(total), mean


def readout_statistics(
    states: np.ndarray, scores: np.ndarray, device: str | torch.device = "cpu", batch_size: int = 512
) -> ReadoutStatistics:
    """:class:`ReadoutStatistics` of a whole split. states: (batch, steps, hidden); scores: (batch,)."""
    stats = ReadoutStatistics(device)
    for lo in range(0, len(states), batch_size):
        stats.update(states[lo : lo + batch_size], np.asarray(scores)[lo : lo + batch_size])
    return stats


# ------------------------------------------------------------------------------------------ solver


@dataclass
class WindowFit:
    """The readout of one window: weights (hidden + 1, 2), the last row being the bias."""

    start: int
    length: int
    weights: np.ndarray
    alpha: float

    def predict(self, states: np.ndarray) -> np.ndarray:
        """states: (batch, steps, hidden) -> outputs (batch, length, 2) from steps [start, start+length)."""
        if np.ndim(states) != 3 or np.shape(states)[1] < self.start + self.length:
            raise ChaoslibError(
                f"states must be (batch, steps, hidden) with steps up to {self.start + self.length - 1}, "
                f"got shape {np.shape(states)}."
            )
        # slice first, then convert: the states of a whole split may be large
        window = np.asarray(states[:, self.start : self.start + self.length], dtype=np.float64)
        return window @ self.weights[:-1] + self.weights[-1]


class WindowedReadout:
    """Ridge readouts for a grid of windows (start, length), solved from split statistics.

    Args:
        starts: window starts (steps), e.g. ``range(0, 101)``.
        lengths: window lengths L >= 1, e.g. ``range(1, 101)``; a window of length L draws L points.
        ridge: relative ridge (see the module docstring); > 0 because [h; 1] of a LayerNorm
            output is collinear.
        start_char, end_char: the glyphs for score 0 and score 5.
        targets: ``"velocity"`` (the authors' default) or ``"position"``.
        metric: which dev score picks the best window: ``"pair"`` (the authors' per-pair uncentred
            NMSE, needs the dev states in :meth:`fit`) or ``"pooled"`` (ours, centred).
        min_length: the best window is searched among lengths >= min_length (authors: 20).

    After :meth:`fit`: ``pooled_nmse_`` and ``pair_nmse_`` (xarray, dims ``start``, ``length``; NaN
    where a window runs past the recorded steps or its targets vanish; ``pair_nmse_`` is None
    without dev states), ``train_pooled_nmse_``, ``best_start_``, ``best_length_``, ``best_nmse_``
    (of ``metric``), ``pair_errors_`` (dims ``pair``: the best window's NMSE of each dev pair),
    ``blind_pooled_nmse_`` and ``blind_pair_nmse_`` (dims ``length``: the level of the best output
    that ignores the score).
    """

    def __init__(
        self,
        starts: Sequence[int] = range(0, 101),
        lengths: Sequence[int] = range(1, 101),
        ridge: float = DEFAULT_RIDGE,
        start_char: str = "U",
        end_char: str = "S",
        targets: str = "velocity",
        metric: str = "pair",
        min_length: int = MIN_LENGTH,
    ):
        self.starts = np.asarray(list(starts), dtype=np.int64)
        self.lengths = np.asarray(list(lengths), dtype=np.int64)
        if self.starts.size == 0 or self.starts.min() < 0:
            raise ChaoslibError(f"starts must be a non-empty range of steps >= 0, got {list(starts)[:5]}...")
        if self.lengths.size == 0 or self.lengths.min() < 1:
            raise ChaoslibError(
                f"lengths must be a non-empty range of lengths >= 1, got {list(lengths)[:5]}..."
            )
        if not ridge > 0:
            raise ChaoslibError(
                f"ridge={ridge}; it must be > 0: [h; 1] of a LayerNorm output is exactly collinear. "
                "Try 1e-6..1e-2."
            )
        if targets not in TARGET_MODES:
            raise ChaoslibError(f"targets={targets!r}; use one of {list(TARGET_MODES)}.")
        if metric not in METRICS:
            raise ChaoslibError(f"metric={metric!r}; use 'pair' (the authors') or 'pooled' (centred, ours).")
        if self.lengths.max() < min_length:
            raise ChaoslibError(
                f"min_length={min_length} but the longest window is {self.lengths.max()}; extend lengths to "
                f"reach {min_length} or lower min_length (the authors search lengths >= {MIN_LENGTH})."
            )
        self.ridge, self.start_char, self.end_char = float(ridge), start_char, end_char
        self.target_mode, self.metric, self.min_length = targets, metric, int(min_length)

    @property
    def steps_needed(self) -> int:
        """Recorded states (t = 0..steps_needed-1) that the largest window needs."""
        return int(self.starts.max() + self.lengths.max())

    def glyphs(self, length: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The two glyphs' targets over ``length`` steps, each (length, 2) float64."""
        return tuple(
            torch.as_tensor(
                glyph_targets(c, int(length), self.target_mode), dtype=torch.float64, device=device
            )
            for c in (self.start_char, self.end_char)
        )

    def targets(self, scores: np.ndarray, length: int) -> np.ndarray:
        """Targets of a window of ``length`` steps: (batch, length, 2) for scores (batch,)."""
        start_glyph, end_glyph = (g.numpy() for g in self.glyphs(length))
        return mix_targets(scores, start_glyph, end_glyph)

    def _solve(self, train: ReadoutStatistics, starts: torch.Tensor, length: int, gram=None, cross=None):
        """Weights (n, hidden+1, 2) and alphas (n,) for windows (starts, length)."""
        if gram is None:
            gram = train.window_gram(starts, length)
        if cross is None:
            cross = train.window_cross(starts, *self.glyphs(length, train.device))
        hidden = train.hidden
        alpha = self.ridge * torch.diagonal(gram, dim1=1, dim2=2)[:, :hidden].sum(-1) / hidden
        penalty = torch.ones(hidden + 1, dtype=gram.dtype, device=gram.device)
        penalty[-1] = 0.0  # the bias is not penalised
        gram = gram + torch.diag_embed(alpha[:, None] * penalty)  # a new tensor: the caller's gram is kept
        chol, info = torch.linalg.cholesky_ex(gram)
        if bool((info != 0).any()):
            raise ChaoslibError(
                f"the normal equations of {int((info != 0).sum())} windows of length {length} are not "
                f"positive definite; raise ridge (now {self.ridge})."
            )
        return torch.cholesky_solve(cross, chol), alpha

    @staticmethod
    def _pooled_nmse(
        stats: ReadoutStatistics, weights, starts, length, start_glyph, end_glyph, gram=None, cross=None
    ):
        """Pooled, centred normalised squared error (n,) of weights (n, hidden+1, 2) on ``stats``' windows."""
        if gram is None:
            gram = stats.window_gram(starts, length)
        if cross is None:
            cross = stats.window_cross(starts, start_glyph, end_glyph)
        total, mean = stats.target_moments(start_glyph, end_glyph)
        quad = (weights * (gram @ weights)).sum(dim=(1, 2))
        sse = quad - 2 * (weights * cross).sum(dim=(1, 2)) + total
        sst = total - stats.n_samples * length * float(mean @ mean)
        return sse / sst

    @staticmethod
    def _pair_nmse(states, scores, weights, starts, length, start_glyph, end_glyph, pair_batch=256):
        """The authors' per-pair NMSE (n_starts, pairs) of weights (n_starts, hidden+1, 2).

        states: (pairs, steps, hidden) float64; scores: (pairs,). One product of the states of the
        steps the windows span with every window's W, then each window's own steps are picked.
        """
        n, first = len(starts), int(starts.min())
        span = int(starts.max()) - first + length
        rows = torch.arange(n, device=states.device)[:, None]
        steps = (starts - first)[:, None] + torch.arange(length, device=states.device)  # (n, L)
        out = []
        for lo in range(0, states.shape[0], pair_batch):
            u, v = score_weights(scores[lo : lo + pair_batch])
            y = u[:, None, None] * start_glyph + v[:, None, None] * end_glyph  # (batch, L, 2)
            x = states[lo : lo + pair_batch, first : first + span]  # (batch, span, hidden)
            out_all = torch.einsum("btd,ndc->nbtc", x, weights[:, :-1]) + weights[:, None, None, -1]
            window = out_all[rows, :, steps]  # (n, L, batch, 2): window a's own steps
            sse = ((window - y.transpose(0, 1)[None]) ** 2).sum(dim=(1, 3))
            out.append(sse / (y**2).sum(dim=(1, 2)))
        return torch.cat(out, dim=1)

    @torch.no_grad()
    def fit(
        self,
        train: ReadoutStatistics,
        dev: ReadoutStatistics,
        dev_states: np.ndarray | None = None,
        dev_scores: np.ndarray | None = None,
    ) -> WindowedReadout:
        """Solve every window on ``train``, score it on ``dev``. Both statistics over the same steps.

        Args:
            dev_states: (pairs, steps, hidden) the dev split's states, for the authors' pair NMSE;
                required when ``metric="pair"``.
            dev_scores: (pairs,) their scores (as given to the dev statistics).
        """
        if (train.n_steps, train.hidden) != (dev.n_steps, dev.hidden):
            raise ChaoslibError(
                "train and dev statistics differ: (steps, hidden) "
                f"{(train.n_steps, train.hidden)} vs {(dev.n_steps, dev.hidden)}."
            )
        if train.n_steps < int(self.starts.min() + self.lengths.min()):
            raise ChaoslibError(
                f"the statistics hold {train.n_steps} steps, too few for any window; record at least "
                f"{self.steps_needed} steps (t = 0..{self.steps_needed - 1})."
            )
        states = scores = None
        if dev_states is not None:
            if dev_scores is None or np.shape(dev_states) != (len(dev_scores), dev.n_steps, dev.hidden):
                raise ChaoslibError(
                    "dev_states must be (pairs, steps, hidden) = "
                    f"({dev.n_samples}, {dev.n_steps}, {dev.hidden}) with dev_scores (pairs,), got "
                    f"{np.shape(dev_states)} and "
                    f"{None if dev_scores is None else np.shape(dev_scores)}."
                )
            states = torch.as_tensor(np.asarray(dev_states), device=train.device, dtype=torch.float64)
            scores = torch.as_tensor(np.asarray(dev_scores, np.float64), device=train.device)
        elif self.metric == "pair":
            raise ChaoslibError(
                "metric='pair' (the authors' NMSE) needs the dev states: "
                "fit(train, dev, dev_states, dev_scores); or choose metric='pooled'."
            )
        shape = (len(self.starts), len(self.lengths))
        pooled, train_pooled, pair = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
        all_starts = torch.as_tensor(self.starts, device=train.device)
        for j, length in enumerate(self.lengths):
            valid = self.starts + length <= train.n_steps
            glyphs = self.glyphs(int(length), train.device)
            if not valid.any() or all(float((g**2).sum()) == 0 for g in glyphs):
                continue  # past the recorded steps, or a closed stroke drawn in one step: no velocity
            starts = all_starts[torch.as_tensor(valid, device=train.device)]
            gram = train.window_gram(starts, int(length))
            cross = train.window_cross(starts, *glyphs)
            weights, _ = self._solve(train, starts, int(length), gram, cross)
            pooled[valid, j] = self._pooled_nmse(dev, weights, starts, int(length), *glyphs).cpu().numpy()
            train_pooled[valid, j] = (
                self._pooled_nmse(train, weights, starts, int(length), *glyphs, gram, cross).cpu().numpy()
            )
            if states is not None:
                errors = self._pair_nmse(states, scores, weights, starts, int(length), *glyphs)
                pair[valid, j] = errors.mean(dim=1).cpu().numpy()
        grid = lambda values, name: xr.DataArray(  # noqa: E731
            values, dims=("start", "length"), coords={"start": self.starts, "length": self.lengths}, name=name
        )
        self.pooled_nmse_ = grid(pooled, "pooled_nmse")
        self.train_pooled_nmse_ = grid(train_pooled, "train_pooled_nmse")
        self.pair_nmse_ = grid(pair, "pair_nmse") if states is not None else None
        self.blind_pooled_nmse_ = xr.DataArray(
            [self.blind_pooled_nmse(dev, int(n)) for n in self.lengths],
            dims=("length",),
            coords={"length": self.lengths},
            name="blind_pooled_nmse",
        )
        self.blind_pair_nmse_ = None
        if scores is not None:
            self.blind_pair_nmse_ = xr.DataArray(
                [self.blind_pair_nmse(dev_scores, int(n)) for n in self.lengths],
                dims=("length",),
                coords={"length": self.lengths},
                name="blind_pair_nmse",
            )
        self.train_ = train
        chosen = (self.pair_nmse_ if self.metric == "pair" else self.pooled_nmse_).values
        self.best_start_, self.best_length_ = self.best_window(chosen)
        i = np.flatnonzero(self.starts == self.best_start_)[0]
        self.best_nmse_ = float(chosen[i, np.flatnonzero(self.lengths == self.best_length_)[0]])
        self.pair_errors_ = None
        if states is not None:
            best = self.window()
            errors = pair_nmse(best.predict(dev_states), self.targets(np.asarray(dev_scores), best.length))
            self.pair_errors_ = xr.DataArray(errors, dims=("pair",), name="pair_errors")
        return self

    def best_window(self, nmse: np.ndarray) -> tuple[int, int]:
        """(start, length) of the smallest finite entry of length >= min_length. nmse: (starts, lengths)."""
        masked = np.where(self.lengths[None, :] >= self.min_length, nmse, np.nan)
        if not np.isfinite(masked).any():
            raise ChaoslibError(
                f"no window of length >= min_length={self.min_length} fits in the recorded steps; "
                "record more steps or lower min_length."
            )
        i, j = np.unravel_index(np.nanargmin(masked), masked.shape)
        return int(self.starts[i]), int(self.lengths[j])

    def _blind_terms(self, length: int):
        start_glyph, end_glyph = self.glyphs(length)
        return start_glyph, end_glyph, float(((end_glyph - start_glyph) ** 2).sum())

    def blind_pooled_nmse(self, stats: ReadoutStatistics, length: int) -> float:
        """The pooled NMSE of the best output that ignores the score: the mean target y_bar(k) at every step.

        With v_i = s_i/5 and u_i = 1 - v_i, y_i(k) - y_bar(k) = (v_i - v_bar)(S(k) - U(k)), so the
        error is n var(v) sum_k ||S(k) - U(k)||^2. A readout below this level has read the
        similarity out of the dynamics, not only drawn the average letter.
        """
        start_glyph, end_glyph, gap = self._blind_terms(length)
        w, n = stats.weight_sums, stats.n_samples
        total, mean = stats.target_moments(start_glyph, end_glyph)
        sst = total - n * length * float(mean @ mean)
        return float((w["vv"] - w["v"] ** 2 / n) * gap / sst) if sst > 0 else float("nan")

    def blind_pair_nmse(self, scores: np.ndarray, length: int) -> float:
        """The pair NMSE of the best score-blind output: the D_i^-1-weighted mean target.

        Minimising mean_i ||c - y_i||^2 / D_i (D_i = sum_k ||y_i(k)||^2) over one output c for all
        pairs gives the weighted mean c = U + v_w (S - U), v_w = sum_i v_i / D_i / sum_i 1 / D_i,
        whose error is mean_i (v_i - v_w)^2 sum_k ||S(k) - U(k)||^2 / D_i.
        """
        start_glyph, end_glyph, gap = self._blind_terms(length)
        u, v = score_weights(np.asarray(scores, np.float64))
        uu, uv, vv = (
            float((start_glyph**2).sum()),
            float((start_glyph * end_glyph).sum()),
            float((end_glyph**2).sum()),
        )
        norms = u * u * uu + 2 * u * v * uv + v * v * vv  # D_i, the pair's squared target norm
        if not np.all(norms > 0):
            return float("nan")
        v_w = np.sum(v / norms) / np.sum(1 / norms)
        return float(np.mean((v - v_w) ** 2 * gap / norms))

    @torch.no_grad()
    def window(self, start: int | None = None, length: int | None = None) -> WindowFit:
        """The fitted readout of one window (default: the best one)."""
        if not hasattr(self, "train_"):
            raise ChaoslibError("call fit(train, dev) first.")
        start = self.best_start_ if start is None else int(start)
        length = self.best_length_ if length is None else int(length)
        if start < 0 or length < 1 or start + length > self.train_.n_steps:
            raise ChaoslibError(
                f"window start={start}, length={length} is outside the {self.train_.n_steps} recorded steps."
            )
        starts = torch.tensor([start], device=self.train_.device)
        weights, alpha = self._solve(self.train_, starts, length)
        return WindowFit(start, length, weights[0].cpu().numpy(), float(alpha[0]))
