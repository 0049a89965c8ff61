"""Linear read-out heads, many trained at once (one per depth), and their training loop.

With a frozen encoder the GLUE head of every depth is an independent linear model on its
own features. Stacking the heads as one ``(n_heads, hidden, out)`` weight trains all of them
with one einsum per step. AdamW, weight decay and the learning-rate schedule act element by
element, and the loss is the SUM of the per-head mean losses (each head's gradient is exactly
its own), so head ``h`` follows the same path as if it were trained alone with the same seed:
same initial weights, same batches, same dropout masks.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from chaoslib.errors import ChaoslibError

HEAD_INIT_STD = 0.02


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
) -> tuple[StackedLinearHeads, torch.Tensor]:
    """Train one head per feature set, all at once.

    Args:
        features: (n_heads, n, hidden) fixed inputs of each head (e.g. pooled output per depth).
        labels: (n,) float scores (num_labels 1) or int64 classes.
        num_labels: 1 (regression, MSE) or the number of classes (cross-entropy).
        epochs, batch_size: passes over the data and rows per step (shuffled, seeded).
        lr, lr_decay: AdamW learning rate, multiplied by ``lr_decay`` after every step.
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
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_decay)
    labels = labels.to(device)
    mask_gen = torch.Generator().manual_seed(seed + 1)  # dropout masks: CPU stream, same on every device
    losses = []
    heads.train()
    with single_thread_on_cpu(device):
        for rows in batch_order(n, epochs, batch_size, seed):
            rows = rows.to(device)
            x = features[:, rows]
            if dropout > 0:
                keep = torch.rand((len(rows), hidden), generator=mask_gen) >= dropout
                x = x * (keep.to(device, x.dtype) / (1.0 - dropout))
            loss = head_loss(heads(x), labels[rows], num_labels)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()  # heads share no parameters: each gets its own loss's gradient
            optimizer.step()
            schedule.step()
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
