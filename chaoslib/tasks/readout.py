"""The handwriting readout (SPEC 2.7): a linear readout of the [CLS] state draws a letter over time.

Each STS-B pair is run through the map; its [CLS] state h_i(t) is recorded at every step t.
A window of L steps, [start, start + L), is read out point by point by ONE linear map shared
across the window's steps: output point k of sample i is

    yhat_i(k) = W^T [h_i(start + k); 1]          W: (hidden + 1, 2), k = 0..L-1,

and its target is the glyph resampled to P = L points (``chaoslib.data.glyphs``), mixed by the
pair's similarity score s_i: y_i(k) = (1 - s_i/5) U_L(k) + (s_i/5) S_L(k). So the window's L
outputs trace the drawing, "U" for unrelated sentences and "S" for paraphrases.

Fit (train): ridge least squares,
    min_W  sum_i sum_k ||yhat_i(k) - y_i(k)||^2 + alpha ||W_hidden||_F^2,
    alpha = ridge * trace(G_hidden) / hidden   (relative, so ``ridge`` is scale-free; the bias is
    not penalised). A small ridge is needed, not a convenience: a LayerNorm output satisfies
    one linear identity (sum_j (h_j - beta_j) / gamma_j = 0), so [h; 1] is exactly collinear
    and the plain normal equations are singular.
Score (dev): normalised MSE = sum_{i,k} ||yhat - y||^2 / sum_{i,k} ||y - ybar||^2, ybar the mean
    target point over dev samples and window steps: 1 is what the best constant dot scores.

All windows at once: with per-step statistics of a split,
    G_t = sum_i [h_i(t); 1][h_i(t); 1]^T,   a_t = sum_i (1 - s_i/5) [h_i(t); 1],   b_t = sum_i (s_i/5) [h_i(t); 1],
a window's normal equations are exact sums over its steps: the Gram from prefix sums
(C[start + L] - C[start]) and the cross term sum_k a_{start+k} U_L(k)^T + b_{start+k} S_L(k)^T
(which depends on the glyph point k, so it is contracted per window, at a cost independent of
the number of samples). The dev error of any W follows from the same statistics of the dev
split: SSE = tr(W^T G W) - 2 tr(W^T B) + sum ||y||^2. No window is refitted from the states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from chaoslib.data.glyphs import MAX_SCORE, glyph
from chaoslib.errors import ChaoslibError

# Relative ridge. On the offline data (random albert-base-v2, 256 train / 128 dev STS-B pairs,
# windows 0..15 x 1..16) the best dev NMSE was 0.50, 0.24, 0.24, 0.26, 0.28, 0.32 for ridge
# 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1: below 1e-4 the readout overfits, above it underfits. With
# all of STS-B (5749 train pairs, more rows than features) the fit is even less sensitive.
DEFAULT_RIDGE = 1e-4


# ------------------------------------------------------------------------------------ trajectories


@torch.no_grad()
def token_trajectories(
    step,
    x0: torch.Tensor,
    n_steps: int,
    token: int = 0,
    attention_mask: torch.Tensor | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> np.ndarray:
    """The state of one token (default 0, [CLS]) at t = 0..n_steps, for every sample.

    Args:
        step: any map (batch, tokens, hidden) -> same (e.g. ``AlbertMap``).
        x0: (batch, tokens, hidden) initial states.
        attention_mask: (batch, tokens) for the masked variant; None = pads active (SPEC default).
        batch_size: samples run together (memory: the map's activations for this many samples).

    Returns:
        (batch, n_steps + 1, hidden) float32 array.
    """
    from chaoslib.dynamics.probes import Units
    from chaoslib.dynamics.runner import run_trajectory

    if x0.ndim != 3:
        raise ChaoslibError(f"x0 must be (batch, tokens, hidden), got shape {tuple(x0.shape)}.")
    if batch_size < 1:
        raise ChaoslibError(f"batch_size={batch_size}; it must be at least 1.")
    out = []
    for lo in range(0, x0.shape[0], batch_size):
        mask = None if attention_mask is None else attention_mask[lo : lo + batch_size]
        ds = run_trajectory(
            step,
            x0[lo : lo + batch_size],
            n_steps,
            probes=(Units(tokens=[token], units=None, name="token"),),
            attention_mask=mask,
            progress=progress,
        )
        out.append(ds["token"].values[:, :, 0, :].astype(np.float32, copy=False))
    return np.concatenate(out)


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
                f"states have (steps, hidden) = {tuple(h.shape[1:])}, earlier updates had {(self.n_steps, self.hidden)}."
            )
        if not torch.isfinite(h).all():
            raise ChaoslibError("states contain NaN or inf; the trajectory diverged or was not filled.")
        features = torch.cat([h, torch.ones_like(h[..., :1])], dim=-1).transpose(
            0, 1
        )  # (steps, batch, hidden+1)
        u, v = 1.0 - s / MAX_SCORE, s / MAX_SCORE
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
        """sum_i sum_k [h_i(start+k); 1] y_i(k)^T for each start. glyphs: (L, 2). Returns (len(starts), hidden+1, 2)."""
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


@torch.no_grad()
def collect_readout_statistics(
    step,
    encoded,
    scores: np.ndarray,
    n_steps: int,
    masked: bool = False,
    token: int = 0,
    batch_size: int = 256,
    keep_states: bool = False,
    stats_device: str | torch.device | None = None,
    progress: bool = False,
) -> tuple[ReadoutStatistics, np.ndarray | None]:
    """Run a split through the map and accumulate the readout statistics of one token's state.

    Args:
        step: an ``AlbertMap`` (needs ``embed``) whose parameters sit on the compute device.
        encoded: ``Encoded`` (batch, tokens), e.g. STS-B pairs as ``[CLS] A [SEP] B [SEP]``.
        scores: (batch,) similarity scores in [0, 5].
        n_steps: the states t = 0..n_steps are used (``WindowedReadout.steps_needed - 1``).
        masked: False (SPEC default for the dynamics): pads are active units; True: masked variant.
        keep_states: also return the states (batch, n_steps + 1, hidden) float32 (e.g. for drawing
            dev predictions); otherwise memory does not grow with the number of samples.
        stats_device: where the float64 statistics live (default: the map's device).

    Returns:
        (statistics, states or None).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) != len(encoded):
        raise ChaoslibError(f"scores has {len(scores)} entries but encoded has {len(encoded)} samples.")
    device = next(step.parameters()).device
    stats = ReadoutStatistics(stats_device if stats_device is not None else device)
    kept = []
    for lo in range(0, len(encoded), batch_size):
        batch = encoded[lo : lo + batch_size].to(device)
        states = token_trajectories(
            step,
            step.embed(batch),
            n_steps,
            token=token,
            attention_mask=batch.attention_mask if masked else None,
            batch_size=batch_size,
            progress=progress,
        )
        stats.update(states, scores[lo : lo + batch_size])
        if keep_states:
            kept.append(states)
    return stats, (np.concatenate(kept) if keep_states else None)


# ------------------------------------------------------------------------------------------ solver


@dataclass
class WindowFit:
    """The readout of one window: weights (hidden + 1, 2), the last row being the bias."""

    start: int
    length: int
    weights: np.ndarray
    alpha: float

    def predict(self, states: np.ndarray) -> np.ndarray:
        """states: (batch, steps, hidden) -> drawings (batch, length, 2) from steps [start, start+length)."""
        if np.ndim(states) != 3 or np.shape(states)[1] < self.start + self.length:
            raise ChaoslibError(
                f"states must be (batch, steps, hidden) with steps up to {self.start + self.length - 1}, "
                f"got shape {np.shape(states)}."
            )
        window = np.asarray(
            states[:, self.start : self.start + self.length], dtype=np.float64
        )  # slice, then convert
        return window @ self.weights[:-1] + self.weights[-1]


class WindowedReadout:
    """Ridge readouts for a grid of windows (start, length), solved from split statistics.

    Args:
        starts: window starts (steps), e.g. ``range(0, 101)``.
        lengths: window lengths L >= 1, e.g. ``range(1, 101)``; a window of length L draws L points.
        ridge: relative ridge (see the module docstring); > 0 because [h; 1] of a LayerNorm
            output is collinear.
        start_char, end_char: the glyphs for score 0 and score 5.

    After :meth:`fit`: ``nmse_`` (xarray, dims ``start``, ``length``; NaN where a window runs
    past the recorded steps), ``train_nmse_``, ``best_start_``, ``best_length_``, ``best_nmse_``,
    ``score_blind_nmse_`` (dims ``length``: the level of a perfect drawing that ignores the score).
    """

    def __init__(
        self,
        starts: Sequence[int] = range(0, 101),
        lengths: Sequence[int] = range(1, 101),
        ridge: float = DEFAULT_RIDGE,
        start_char: str = "U",
        end_char: str = "S",
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
                f"ridge={ridge}; it must be > 0: [h; 1] of a LayerNorm output is exactly collinear. Try 1e-6..1e-2."
            )
        self.ridge, self.start_char, self.end_char = float(ridge), start_char, end_char

    @property
    def steps_needed(self) -> int:
        """Recorded states (t = 0..steps_needed-1) that the largest window needs."""
        return int(self.starts.max() + self.lengths.max())

    def glyphs(self, length: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The two glyphs resampled to ``length`` points, each (length, 2) float64."""
        return tuple(
            torch.as_tensor(glyph(c, int(length)), dtype=torch.float64, device=device)
            for c in (self.start_char, self.end_char)
        )

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
                f"the normal equations of {int((info != 0).sum())} windows of length {length} are not positive "
                f"definite; raise ridge (now {self.ridge})."
            )
        return torch.cholesky_solve(cross, chol), alpha

    @staticmethod
    def _nmse(
        stats: ReadoutStatistics, weights, starts, length, start_glyph, end_glyph, gram=None, cross=None
    ):
        """Normalised squared error (n,) of weights (n, hidden+1, 2) on the windows of ``stats``."""
        if gram is None:
            gram = stats.window_gram(starts, length)
        if cross is None:
            cross = stats.window_cross(starts, start_glyph, end_glyph)
        total, mean = stats.target_moments(start_glyph, end_glyph)
        quad = (weights * (gram @ weights)).sum(dim=(1, 2))
        sse = quad - 2 * (weights * cross).sum(dim=(1, 2)) + total
        sst = total - stats.n_samples * length * float(mean @ mean)
        return sse / sst

    @torch.no_grad()
    def fit(self, train: ReadoutStatistics, dev: ReadoutStatistics) -> WindowedReadout:
        """Solve every window on ``train``, score it on ``dev``. Both statistics over the same steps."""
        if (train.n_steps, train.hidden) != (dev.n_steps, dev.hidden):
            raise ChaoslibError(
                f"train and dev statistics differ: (steps, hidden) {(train.n_steps, train.hidden)} vs {(dev.n_steps, dev.hidden)}."
            )
        if train.n_steps < int(self.starts.min() + self.lengths.min()):
            raise ChaoslibError(
                f"the statistics hold {train.n_steps} steps, too few for any window; record at least "
                f"{self.steps_needed} steps (t = 0..{self.steps_needed - 1})."
            )
        nmse = np.full((len(self.starts), len(self.lengths)), np.nan)
        train_nmse = np.full_like(nmse, np.nan)
        all_starts = torch.as_tensor(self.starts, device=train.device)
        for j, length in enumerate(self.lengths):
            valid = self.starts + length <= train.n_steps
            if not valid.any():
                continue
            starts = all_starts[torch.as_tensor(valid, device=train.device)]
            glyphs = self.glyphs(int(length), train.device)
            gram = train.window_gram(starts, int(length))
            cross = train.window_cross(starts, *glyphs)
            weights, _ = self._solve(train, starts, int(length), gram, cross)
            nmse[valid, j] = self._nmse(dev, weights, starts, int(length), *glyphs).cpu().numpy()
            train_nmse[valid, j] = (
                self._nmse(train, weights, starts, int(length), *glyphs, gram, cross).cpu().numpy()
            )
        coords = {"start": self.starts, "length": self.lengths}
        blind = [self.score_blind_nmse(dev, int(length)) for length in self.lengths]
        self.score_blind_nmse_ = xr.DataArray(
            blind, dims=("length",), coords={"length": self.lengths}, name="score_blind_nmse"
        )
        self.nmse_ = xr.DataArray(nmse, dims=("start", "length"), coords=coords, name="dev_nmse")
        self.train_nmse_ = xr.DataArray(
            train_nmse, dims=("start", "length"), coords=coords, name="train_nmse"
        )
        i, j = np.unravel_index(np.nanargmin(nmse), nmse.shape)
        self.best_start_, self.best_length_ = int(self.starts[i]), int(self.lengths[j])
        self.best_nmse_ = float(nmse[i, j])
        self.train_ = train
        return self

    def score_blind_nmse(self, stats: ReadoutStatistics, length: int) -> float:
        """The NMSE of the best drawing that ignores the score: the mean target y_bar(k) at every point.

        With v_i = s_i/5 and u_i = 1 - v_i, y_i(k) - y_bar(k) = (v_i - v_bar)(S(k) - U(k)), so the
        error is n var(v) sum_k ||S(k) - U(k)||^2. A readout below this level has read the
        similarity out of the dynamics, not only drawn the average letter.
        """
        start_glyph, end_glyph = self.glyphs(length)
        w, n = stats.weight_sums, stats.n_samples
        spread = w["vv"] - w["v"] ** 2 / n  # n var(v)
        total, mean = stats.target_moments(start_glyph, end_glyph)
        sst = total - n * length * float(mean @ mean)
        return float(spread * ((end_glyph - start_glyph) ** 2).sum() / sst)

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

    def targets(self, scores: np.ndarray, length: int) -> np.ndarray:
        """Targets of a window of ``length`` steps: (batch, length, 2) for scores (batch,)."""
        from chaoslib.data.glyphs import mix_targets

        return mix_targets(scores, glyph(self.start_char, length), glyph(self.end_char, length))
