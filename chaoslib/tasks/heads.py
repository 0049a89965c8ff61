"""Linear read-out heads, many trained at once (one per depth), and their training loop.

With a frozen encoder the GLUE head of every depth is an independent linear model on its
own features. Stacking the heads as one ``(n_heads, hidden, out)`` weight trains all of them
with one einsum per step. AdamW, weight decay and the learning-rate schedule act element by
element, and the loss is the SUM of the per-head mean losses (each head's gradient is exactly
its own), so head ``h`` follows the same path as if it were trained alone with the same seed:
same initial weights, same batches, same dropout masks. Gradient-norm clipping is the one step
that is not element by element: :func:`clip_per_head_` clips each head by ITS OWN gradient
norm, as ``torch.nn.utils.clip_grad_norm_`` does for a head trained alone.

The learning-rate schedules of the authors' two trainers are here too (:func:`lr_scheduler`):
their ``FinetuneTrainer`` (frozen encoder, and every randomly initialised network) multiplies
the rate by 0.9995 per step; the plain ``transformers.Trainer`` (pretrained network, trained
encoder) decays it linearly to 0 without warmup. Both clip the gradient norm at 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import nn

from chaoslib.errors import ChaoslibError

HEAD_INIT_STD = 0.02
SCHEDULES = ("exponential", "linear")
MAX_GRAD_NORM = 1.0  # transformers' TrainingArguments.max_grad_norm, in every arm of the authors' runs


def lr_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, lr_decay: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule, stepped once after every optimizer step.

    Args:
        schedule: ``"exponential"``: lr * lr_decay**k at step k (the authors' FinetuneTrainer);
            ``"linear"``: lr * (total_steps - k) / total_steps, down to 0 at the end, no warmup
            (``transformers.get_linear_schedule_with_warmup``, as the plain Trainer).
        lr_decay: the factor per step of the exponential schedule.
        total_steps: optimizer steps of the whole run (the linear schedule's length).
    """
    if schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_decay)
    if schedule == "linear":
        from transformers import get_linear_schedule_with_warmup

        if total_steps < 1:
            raise ChaoslibError(f"total_steps={total_steps}: a linear schedule needs at least one step.")
        return get_linear_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=total_steps)
    raise ChaoslibError(f"schedule={schedule!r}; use one of {list(SCHEDULES)}.")


@torch.no_grad()
def clip_per_head_(grads: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Clip the gradients of stacked heads, each head by its own norm, in place.

    grads: tensors whose first dimension is the head (weight (n_heads, hidden, out), bias
    (n_heads, out)). Head h's gradients are scaled by min(1, max_norm / (norm_h + 1e-6)), where
    norm_h is the 2-norm of all of head h's gradient entries: what
    ``torch.nn.utils.clip_grad_norm_`` does to one head trained alone. Returns the (n_heads,) norms
    before clipping.
    """
    per_tensor = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads])
    norms = torch.linalg.vector_norm(per_tensor, dim=0)  # the norm of the norms, as clip_grad_norm_
    coef = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *[1] * (g.dim() - 1)))
    return norms


def trunc_normal_head(
    hidden: int, out: int, seed: int, std: float = HEAD_INIT_STD
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fresh linear head: weight (out, hidden) truncated normal ``std`` cut at 2 std, bias (out,) 0.

    Drawn on the CPU from ``torch.Generator().manual_seed(seed)``: the same head on every device.
    """
    gen = torch.Generator().manual_seed(seed)
    weight = nn.init.trunc_normal_(torch.empty(out, hidden), std=std, a=-2 * std, b=2 * std, generator=gen)
    return weight, torch.zeros(out)


class StackedLinearHeads(nn.Module):
    """``n_heads`` independent linear maps hidden -> out.

    weight: (n_heads, hidden, out), bias: (n_heads, out). All heads start from the same draw of
    :func:`trunc_normal_head` (as separate runs with the same seed would).
    """

    def __init__(self, n_heads: int, hidden: int, out: int, seed: int = 42, std: float = HEAD_INIT_STD):
        super().__init__()
        weight, bias = trunc_normal_head(hidden, out, seed, std)
        self.weight = nn.Parameter(weight.T.expand(n_heads, hidden, out).clone())
        self.bias = nn.Parameter(bias.expand(n_heads, out).clone())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features: (n_heads, batch, hidden) -> (n_heads, batch, out)."""
        return torch.einsum("nbh,nho->nbo", features, self.weight) + self.bias[:, None, :]


def head_loss(outputs: torch.Tensor, labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Per-head mean loss: MSE for regression (num_labels 1), cross-entropy otherwise.

    outputs: (n_heads, batch, num_labels); labels: (batch,). Returns (n_heads,).
    """
    if num_labels == 1:
        return ((outputs[..., 0] - labels.to(outputs.dtype)) ** 2).mean(-1)
    n_heads, batch, _ = outputs.shape
    losses = nn.functional.cross_entropy(
        outputs.reshape(n_heads * batch, num_labels), labels.repeat(n_heads), reduction="none"
    )
    return losses.view(n_heads, batch).mean(-1)


@contextmanager
def single_thread_on_cpu(device: torch.device):
    """Run small CPU ops on one thread: a head step is a few thousand multiply-adds, far too little
    to share, and on a busy machine the threads' synchronisation costs ten times the work itself."""
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def batch_order(n: int, epochs: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """The index batches of ``epochs`` shuffled passes over n rows (last batch of an epoch may be short)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        out.extend(perm[i : i + batch_size] for i in range(0, n, batch_size))
    return out


def train_stacked_heads(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_labels: int,
    epochs: int = 3,
    batch_size: int = 8,
    lr: float = 1e-3,
    lr_decay: float = 0.9995,
    weight_decay: float = 0.0,
    dropout: float = 0.1,
    seed: int = 42,
    schedule: str = "exponential",
    max_grad_norm: float | None = MAX_GRAD_NORM,
) -> tuple[StackedLinearHeads, torch.Tensor]:
    """Train one head per feature set, all at once.

    Args:
        features: (n_heads, n, hidden) fixed inputs of each head (e.g. pooled output per depth).
        labels: (n,) float scores (num_labels 1) or int64 classes.
        num_labels: 1 (regression, MSE) or the number of classes (cross-entropy).
        epochs, batch_size: passes over the data and rows per step (shuffled, seeded).
        lr, lr_decay: AdamW learning rate, multiplied by ``lr_decay`` after every step.
        schedule: ``"exponential"`` (the authors' frozen arm) or ``"linear"`` (see :func:`lr_scheduler`).
        max_grad_norm: clip each head's gradient norm at this value (:func:`clip_per_head_`);
            None: no clipping.
        weight_decay: AdamW's decoupled weight decay.
        dropout: dropout on the features during training (ALBERT's classifier_dropout_prob is 0.1);
            one mask per step, shared by all heads.
        seed: seeds the head init, the shuffling and the dropout masks.

    Returns:
        the trained heads and (n_steps, n_heads) training losses per step.
    """
    if features.dim() != 3:
        raise ChaoslibError(f"features has shape {tuple(features.shape)}; expected (n_heads, n, hidden).")
    n_heads, n, hidden = features.shape
    if labels.shape != (n,):
        raise ChaoslibError(
            f"labels has shape {tuple(labels.shape)}; expected ({n},), one per row of features."
        )
    if not 0.0 <= dropout < 1.0:
        raise ChaoslibError(f"dropout={dropout} must lie in [0, 1).")
    device = features.device
    heads = StackedLinearHeads(n_heads, hidden, num_labels, seed=seed).to(device=device, dtype=features.dtype)
    optimizer = torch.optim.AdamW(heads.parameters(), lr=lr, weight_decay=weight_decay, eps=1e-8)
    order = batch_order(n, epochs, batch_size, seed)
    scheduler = lr_scheduler(optimizer, schedule, lr_decay, len(order))
    labels = labels.to(device)
    mask_gen = torch.Generator().manual_seed(seed + 1)  # dropout masks: CPU stream, same on every device
    losses = []
    heads.train()
    with single_thread_on_cpu(device):
        for rows in order:
            rows = rows.to(device)
            x = features[:, rows]
            if dropout > 0:
                keep = torch.rand((len(rows), hidden), generator=mask_gen) >= dropout
                x = x * (keep.to(device, x.dtype) / (1.0 - dropout))
            loss = head_loss(heads(x), labels[rows], num_labels)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # heads share no parameters: each gets its own loss's gradient
            if max_grad_norm is not None:
                clip_per_head_([heads.weight.grad, heads.bias.grad], max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(loss.detach())
    heads.eval()
    return heads, torch.stack(losses).cpu() if losses else torch.empty(0, n_heads)


@torch.no_grad()
def predict_stacked(
    heads: StackedLinearHeads, features: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """features: (n_heads, n, hidden) -> outputs (n_heads, n, out), on the CPU."""
    return torch.cat(
        [heads(features[:, i : i + batch_size]).cpu() for i in range(0, features.shape[1], batch_size)], 1
    )
