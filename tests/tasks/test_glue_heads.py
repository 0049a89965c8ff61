"""Stacked heads against heads trained alone (torch's Linear, clip_grad_norm_), and the learning-rate
schedules of the authors' two trainers against their formulas."""

import math

import pytest
import torch

from chaoslib.errors import ChaoslibError
from chaoslib.tasks.glue_metrics import glue_metrics
from chaoslib.tasks.glue_trained import authors_schedule, resolve_schedule
from chaoslib.tasks.heads import (
    batch_order,
    clip_per_head_,
    lr_scheduler,
    train_stacked_heads,
    trunc_normal_head,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


def _rates(schedule, lr, lr_decay, total, steps):
    """The learning rate in force at each optimizer step k (the scheduler steps after each)."""
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = lr_scheduler(opt, schedule, lr_decay, total)
    rates = {}
    for k in range(max(steps) + 1):
        rates[k] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    return [rates[k] for k in steps]


def test_exponential_schedule_is_lr_times_decay_to_the_step():
    steps = [0, 1, 2, 10, 719]
    got = _rates("exponential", 1e-3, 0.9995, 720, steps)
    assert got == pytest.approx([1e-3 * 0.9995**k for k in steps], rel=1e-12)


def test_linear_schedule_decays_to_zero_without_warmup():
    # the authors' pretrained trained arm: transformers' Trainer, warmup_steps 0, T = ceil(n/8) * epochs
    n, batch, epochs = 5749, 8, 10
    total = math.ceil(n / batch) * epochs
    assert total == len(batch_order(n, epochs, batch, 0))  # our step count is theirs
    steps = [0, 1, 100, total // 2, total - 1, total]
    got = _rates("linear", 1e-6, 0.9995, total, steps)
    assert got == pytest.approx([1e-6 * (total - k) / total for k in steps], rel=1e-9, abs=1e-20)
    assert got[-1] == 0.0 and got[0] == 1e-6


def test_schedule_per_arm_as_the_authors_ran_it():
    assert authors_schedule("pretrained") == "linear"  # plain transformers.Trainer
    assert authors_schedule("random") == "exponential"  # FinetuneTrainer (--init_model 1)
    assert resolve_schedule("authors", "random") == "exponential"
    assert resolve_schedule("linear", "random") == "linear"
    with pytest.raises(ChaoslibError, match="schedule"):
        resolve_schedule("cosine", "random")
    with pytest.raises(ChaoslibError, match="schedule"):
        lr_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), "cosine", 0.9, 10)


def reference_single_head(features, labels, epochs, batch_size, lr, lr_decay, dropout, seed, max_grad_norm):
    """One head trained alone with torch's Linear and clip_grad_norm_: what a per-depth run does."""
    hidden = features.shape[1]
    weight, bias = trunc_normal_head(hidden, 1, seed)
    head = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.0, eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_decay**k)  # the authors' FinetuneTrainer
    mask_gen = torch.Generator().manual_seed(seed + 1)
    clipped = 0
    for rows in batch_order(len(labels), epochs, batch_size, seed):
        x = features[rows]
        keep = torch.rand((len(rows), hidden), generator=mask_gen) >= dropout
        x = x * keep / (1 - dropout)
        loss = torch.nn.functional.mse_loss(head(x)[:, 0], labels[rows])
        opt.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            clipped += int(torch.nn.utils.clip_grad_norm_(head.parameters(), max_grad_norm) > max_grad_norm)
        opt.step()
        sched.step()
    return head, clipped


@pytest.mark.parametrize("max_grad_norm", [1.0, None])
def test_stacked_heads_equal_heads_trained_alone(max_grad_norm):
    """Each stacked head is clipped by its own gradient norm: it follows the path of a head trained
    alone with clip_grad_norm_, although the heads' norms differ (features of different scales)."""
    gen = torch.Generator().manual_seed(0)
    n, hidden, n_heads = 40, 16, 5
    scales = torch.tensor([0.05, 0.3, 1.0, 3.0, 10.0])  # small norms (never clipped) to large (always)
    features = torch.randn(n_heads, n, hidden, generator=gen) * scales[:, None, None]
    labels = torch.rand(n, generator=gen) * 0.2  # small residuals: the small-feature head's norm stays < 1
    kw = dict(epochs=3, batch_size=8, lr=1e-2, lr_decay=0.99, dropout=0.1, seed=42)
    heads, losses = train_stacked_heads(features, labels, 1, max_grad_norm=max_grad_norm, **kw)
    assert losses.shape == (3 * 5, n_heads)
    clipped = {}
    for h in range(n_heads):
        alone, clipped[h] = reference_single_head(features[h], labels, max_grad_norm=max_grad_norm, **kw)
        torch.testing.assert_close(heads.weight[h, :, 0], alone.weight[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(heads.bias[h], alone.bias, rtol=1e-5, atol=1e-6)
    if max_grad_norm is not None:
        # the test means something: some heads were clipped at some steps, others never
        assert clipped[n_heads - 1] > 0 and clipped[0] == 0
        unclipped, _ = train_stacked_heads(features, labels, 1, max_grad_norm=None, **kw)
        assert (unclipped.weight[-1] - heads.weight[-1]).abs().max() > 1e-4


def test_clip_per_head_scales_each_head_by_its_own_norm():
    w = torch.tensor([[[3.0], [4.0]], [[0.3], [0.4]]])  # (2 heads, hidden 2, out 1): norms 5 and 0.5
    b = torch.zeros(2, 1)
    norms = clip_per_head_([w, b], 1.0)
    assert norms.tolist() == pytest.approx([5.0, 0.5])
    assert w[0, :, 0].tolist() == pytest.approx([0.6, 0.8], rel=1e-5)  # scaled to norm 1 (1e-6 eps)
    assert w[1, :, 0].tolist() == pytest.approx([0.3, 0.4])  # below the limit: unchanged


def test_stacked_heads_learn_a_linear_target():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 400, 8, generator=gen)
    w = torch.randn(8, generator=gen)
    y = x[0] @ w  # head 0 can fit it; head 1 sees unrelated features
    heads, _ = train_stacked_heads(x, y, 1, epochs=20, batch_size=8, lr=1e-2, dropout=0.0, seed=0)
    with torch.no_grad():
        pred = heads(x)[..., 0]
    assert glue_metrics("stsb", pred[0].numpy(), y.numpy())["pearson"] > 0.99
    assert abs(glue_metrics("stsb", pred[1].numpy(), y.numpy())["pearson"]) < 0.3


def test_classification_heads_cross_entropy():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 300, 6, generator=gen)
    y = (x[1, :, 0] > 0).long()
    heads, _ = train_stacked_heads(x, y, 2, epochs=10, lr=1e-2, dropout=0.0, seed=0)
    with torch.no_grad():
        acc = [glue_metrics("rte", heads(x)[h].numpy(), y.numpy())["accuracy"] for h in range(3)]
    assert acc[1] > 0.95 and acc[0] < 0.75 and acc[2] < 0.75
