"""Pretraining throughput: our step (vocabulary projection at the masked positions only) against the naive
step (``AlbertForPreTraining(labels=...)``, which projects every token onto the 30000-piece vocabulary).

    python benchmarks/bench_pretraining.py [--config chaoslib/pretraining/configs/albert-wikitext2.yml] [--steps 8]

Prints tokens per second of both and their ratio, on the CPU (or the GPU with --device cuda, where it also
prints the model FLOPs utilisation against --peak-tflops). Then, for every L of the trained-depth series
(its 8,000-piece vocabulary), the achieved FLOP/s of a training step by the FLOP model below as a fraction
of the same machine's large-matmul FLOP/s (a 2048^3 float32 product on the same threads), measured in the
same run: the series is compute-bound, so this fraction is its cost (the goal: at least 70% at every L).
"""

from __future__ import annotations

import argparse
import time

import torch

from chaoslib.data.masking import NGramMasking
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.pretraining.data import SOPSampler, load_corpus
from chaoslib.pretraining.objective import pretraining_objective
from chaoslib.pretraining.train import PretrainConfig, batch_generator, build_model


def model_flops_per_token(config: PretrainConfig, vocab: int, masked_fraction: float, full_vocab: bool) -> float:
    """Training FLOPs per token (6 x matmul parameters used per token, plus attention), nanoGPT's estimate."""
    d, f, n, layers = config.hidden_size, config.intermediate_size, config.n_tokens, config.num_hidden_layers
    per_layer = 4 * d * d + 2 * d * f  # Q, K, V, O and the FFN
    attention = 2 * n * d  # scores and the weighted sum, per token and layer
    head = config.embedding_size * vocab * (1.0 if full_vocab else masked_fraction)
    return 6 * (layers * per_layer + config.embedding_size * d + head) + 6 * layers * attention


def matmul_flops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a large float32 matrix product on this device and thread count (best of ``repeats``)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def step_rate(config: PretrainConfig, tokenizer, corpus, device: torch.device, steps: int) -> tuple[float, float]:
    """(tokens/s of our training step, the masked fraction) for ``config``, over ``steps`` timed steps."""
    sampler = SOPSampler(corpus, config.n_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    masking = NGramMasking.from_tokenizer(tokenizer)
    model = build_model(config, len(tokenizer)).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    chosen = []
    for step in range(steps + 1):
        generator = batch_generator(0, step, 0)
        batch = sampler.batch(config.batch_size, generator)
        masked = masking(batch.encoded.input_ids, batch.encoded.attention_mask, generator)
        chosen.append(masked.chosen.float().mean())
        if step == 1:  # the first step warms up allocations
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
        optimizer.zero_grad()
        pretraining_objective(model, batch.encoded.to(device), masked, batch.sop_labels.to(device)).loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * config.tokens_per_step() / (time.perf_counter() - started), float(torch.stack(chosen).mean())


def series_fractions(device: torch.device, steps: int) -> None:
    """The trained-depth series' training step at every L, as a fraction of the machine's matmul FLOP/s."""
    from chaoslib.data.vocabulary import SERIES_VOCABULARY, vocabulary_folder
    from chaoslib.pretraining.series import SERIES_DEPTHS, series_config

    tokenizer = load_tokenizer(vocabulary_folder(SERIES_VOCABULARY))
    corpus = load_corpus(tokenizer, max_documents=200)
    peak = matmul_flops(device)
    print(f"trained-depth series ({len(tokenizer)}-piece vocabulary), {device}, {torch.get_num_threads()} threads; "
          f"large-matmul float32: {peak / 1e9:.1f} GFLOP/s")
    for depth in SERIES_DEPTHS:
        config = series_config(depth, 0)
        rate, masked_fraction = step_rate(config, tokenizer, corpus, device, steps)
        achieved = rate * model_flops_per_token(config, len(tokenizer), masked_fraction, full_vocab=False)
        print(f"  L={depth:2d}: {rate:9,.0f} tokens/s, {achieved / 1e9:6.1f} GFLOP/s by the FLOP model, "
              f"{achieved / peak:.0%} of the matmul rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="chaoslib/pretraining/configs/albert-wikitext2.yml")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="the device's peak, for the MFU")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = PretrainConfig.from_file(args.config)
    tokenizer = load_tokenizer()
    corpus = load_corpus(tokenizer, max_documents=200)
    sampler = SOPSampler(corpus, config.n_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    masking = NGramMasking.from_tokenizer(tokenizer)
    device = torch.device(args.device)
    batches = []
    for step in range(args.steps + 1):
        generator = batch_generator(0, step, 0)
        batch = sampler.batch(config.batch_size, generator)
        batches.append((batch, masking(batch.encoded.input_ids, batch.encoded.attention_mask, generator)))
    masked_fraction = float(torch.cat([m.chosen.flatten() for _, m in batches]).float().mean())

    def ours(model, batch, masked):
        return pretraining_objective(model, batch.encoded.to(device), masked, batch.sop_labels.to(device)).loss

    def naive(model, batch, masked):
        e = batch.encoded.to(device)
        return model(input_ids=masked.input_ids.to(device), attention_mask=e.attention_mask, token_type_ids=e.token_type_ids,
                     labels=masked.labels.to(device), sentence_order_label=batch.sop_labels.to(device)).loss

    rates = {}
    for name, loss_fn in (("ours (masked positions only)", ours), ("naive AlbertForPreTraining(labels=...)", naive)):
        model = build_model(config, len(tokenizer)).to(device).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        for i, (batch, masked) in enumerate(batches):
            if i == 1:  # the first step warms up allocations
                if device.type == "cuda":
                    torch.cuda.synchronize()
                started = time.perf_counter()
            optimizer.zero_grad()
            loss_fn(model, batch, masked).backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates[name] = args.steps * config.tokens_per_step() / (time.perf_counter() - started)
    print(f"pretraining step, {config.hidden_size=}, {config.num_hidden_layers=}, batch {config.batch_size} x {config.n_tokens}"
          f" tokens, {args.device}, {args.threads} threads")
    for name, rate in rates.items():
        flops = model_flops_per_token(config, len(tokenizer), masked_fraction, full_vocab=name.startswith("naive"))
        mfu = f", MFU {rate * flops / (args.peak_tflops * 1e12):.1%}" if args.peak_tflops else ""
        print(f"  {name:42s} {rate:10,.0f} tokens/s{mfu}")
    values = list(rates.values())
    print(f"ratio ours/naive: {values[0] / values[1]:.2f}x")
    series_fractions(device, args.steps)


if __name__ == "__main__":
    main()
