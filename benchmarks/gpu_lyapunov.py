"""GPU timings of the Lyapunov estimators at the paper's sizes (for the lead's one GPU run).

1. The top-64 Lyapunov spectrum over 1,000 steps of albert-large-v2 at N=32 (one input: a
   32,768-dimensional state; 64 JVPs per step, QR every step, no Jacobian formed).
2. The paper's local-exponent setting end to end: 1,000 inputs, N=32, 1,000 steps, eps=1,
   tau=50 (both copies in one batch of 2,000 states; fits easily in 80 GB).
Each is printed with a plain trajectory of the same batch (100 steps, scaled to the same
length) for the ratio. Weights are RANDOM (tf init, seed 0): pretrained weights are not
available offline; the timing does not depend on the weights. float32 with TF32 off (chaoslib.settings.disable_tf32).

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_lyapunov.py`` (about a minute on an
H100); ``--smoke`` runs tiny sizes on the CPU to check the script.
"""

from __future__ import annotations

import argparse
import time

import torch

from chaoslib.dynamics.lyapunov import local_exponents
from chaoslib.dynamics.spectrum import lyapunov_spectrum
from chaoslib.errors import DataNotFound
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert
from chaoslib.settings import disable_tf32, resolve_device


def timed(fn, device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def inputs(F: AlbertMap, n: int, n_tokens: int, device: torch.device) -> tuple[torch.Tensor, str]:
    """x0 for n sentence pairs from WikiText-2; random token ids (labelled) when the data folder is absent."""
    from chaoslib.data.tokenization import Encoded

    try:
        from chaoslib.data.corpus import dynamics_inputs
        from chaoslib.data.tokenization import load_tokenizer

        encoded, _ = dynamics_inputs(load_tokenizer(), n, n_tokens, seed=0, kind="pair")
        what = "WikiText-2 sentence pairs"
    except (DataNotFound, OSError):
        gen = torch.Generator().manual_seed(0)
        ids = torch.randint(5, 30000, (n, n_tokens), generator=gen)
        encoded = Encoded(ids, torch.zeros_like(ids), torch.ones_like(ids))
        what = "random token ids (data folder not found)"
    return F.embed(encoded.to(device)), what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU, to check the script")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device("cpu" if args.smoke else args.device)
    disable_tf32()
    if args.smoke:
        arch = dict(hidden_size=64, num_attention_heads=4, intermediate_size=256, embedding_size=32)
        k, spec_steps, n_inputs, n_tokens, lle_steps, tau, plain_steps = 4, 10, 6, 8, 20, 5, 10
    else:
        arch = {}
        k, spec_steps, n_inputs, n_tokens, lle_steps, tau, plain_steps = 64, 1000, 1000, 32, 1000, 50, 100
    model, info = load_albert("albert-large-v2", weights="random", init="tf", seed=0, device=device, **arch)
    F = AlbertMap(model)
    x0, what = inputs(F, n_inputs, n_tokens, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"{info.label()} (RANDOM weights) | hidden {F.hidden_size} | N={n_tokens} | inputs: {what} | "
        f"{name} | "
        f"float32, TF32 off | torch {torch.__version__}"
    )

    rows = []
    x1 = x0[:1]
    F.iterate(x1, 3)
    lyapunov_spectrum(F.step, x1, k=k, n_steps=2)  # warm-up: kernels, JVP decompositions
    t_plain1, _ = timed(lambda: F.iterate(x1, plain_steps), device)
    t_spec, spec = timed(
        lambda: lyapunov_spectrum(F.step, x1, k=k, n_steps=spec_steps, window=spec_steps // 10), device
    )
    plain1 = t_plain1 * spec_steps / plain_steps
    rows.append((f"plain trajectory, 1 input, {spec_steps} steps (from {plain_steps})", plain1, ""))
    rows.append(
        (
            f"top-{k} spectrum (JVP+QR every step), 1 input, {spec_steps} steps",
            t_spec,
            f"{t_spec / plain1:.1f}x plain (goal <= {k + 2})",
        )
    )
    lam = spec.mean()

    F.iterate(x0, 2)  # warm-up at this batch size
    t_plain, _ = timed(lambda: F.iterate(x0, plain_steps), device)
    plain = t_plain * lle_steps / plain_steps
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_lle, lle = timed(lambda: local_exponents(F.step, x0, eps=1.0, tau=tau, n_steps=lle_steps), device)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    rows.append((f"plain trajectory, {n_inputs} inputs, {lle_steps} steps (from {plain_steps})", plain, ""))
    rows.append(
        (
            f"local exponents eps=1 tau={tau}, {n_inputs} inputs, {lle_steps} steps",
            t_lle,
            f"{t_lle / plain:.2f}x plain (goal <= 2.2); peak {peak:.1f} GiB",
        )
    )

    print(f"{'measure':68s} {'seconds':>9s}  note")
    for label, seconds, note in rows:
        print(f"{label:68s} {seconds:9.2f}  {note}")
    print(
        f"spectrum: lambda_1..3 = {', '.join(f'{v:.4f}' for v in lam[:3].tolist())} per step; "
        f"Kaplan-Yorke (NaN if > k) = {float(spec.kaplan_yorke()[0]):.2f}"
    )
    length, censored = lle.chaos_length()
    print(
        f"local exponents: mean lambda_0 = {float(lle.exponents[:, 0].mean()):.4f}; median chaos length "
        f"{float(length.median()):.0f} steps; censored {float(censored.double().mean()):.1%}"
    )


if __name__ == "__main__":
    main()
