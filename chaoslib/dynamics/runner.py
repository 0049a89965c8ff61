"""Run a map for T steps and record what the probes ask for.

The loop works in blocks of ``block_size`` steps: each block writes the probes' values into
preallocated device buffers, then copies them to the host once. On a GPU the block is captured
once as a CUDA graph and replayed, which removes the kernel-launch gaps that dominate a small
state (albert-large-v2 at N=16 is ~0.4 GFLOP a step). With ``out_dir`` the run streams chunks of
``save_every`` steps to netCDF files plus a state checkpoint, and a rerun with the same
arguments resumes after the last finished chunk: the recorded values are the same as those of
an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from chaoslib.dynamics.probes import Probe, TokenSpread
from chaoslib.errors import ChaoslibError
from chaoslib.model.protocol import WeightTiedMap
from chaoslib.store import atomic_write_bytes, load_dataset, read_json, save_dataset, write_json

StepFn = Callable[[torch.Tensor], torch.Tensor]
"""Any map x -> F(x) on (batch, *state); a :class:`~chaoslib.model.protocol.WeightTiedMap` is one."""


def _step_with_internals(
    step: StepFn | WeightTiedMap, probes: Sequence[Probe], attention_mask: torch.Tensor | None
):
    """x -> (F(x), internals): the internals the probes need, from the map's ``step_with_internals``."""
    needed = tuple(sorted({name for p in probes for name in p.needs}))
    if needed:
        if not hasattr(step, "step_with_internals"):
            raise ChaoslibError(
                f"probes that record internals ({', '.join(needed)}) need a map with step_with_internals "
                f"(a chaoslib.model.protocol.WeightTiedMap, e.g. AlbertMap), got {type(step).__name__}."
            )
        return lambda x: step.step_with_internals(x, attention_mask, needed)
    if attention_mask is not None:
        return lambda x: (step(x, attention_mask), {})
    return lambda x: (step(x), {})


def _sha(tensors) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _fingerprint(step: StepFn, x0: torch.Tensor, **fields) -> dict:
    """What identifies a run: x0, the map's weights (when it has parameters) and the settings."""
    params = list(step.parameters()) if isinstance(step, torch.nn.Module) else []
    return {
        "x0_sha256": _sha([x0]),
        "map_sha256": _sha(params) if params else repr(step),
        "shape": list(x0.shape),
        "dtype": str(x0.dtype),
        **fields,
    }


class _Recorder:
    """Runs blocks of steps into device buffers (optionally replayed as a CUDA graph)."""

    def __init__(self, one_step, probes, x0, block_size, cuda_graph):
        self.one_step, self.probes, self.block_size = one_step, probes, block_size
        self.x = x0.clone()
        self.bufs: list[torch.Tensor] | None = None  # allocated at the first step, once shapes are known
        self.graph = self._capture() if cuda_graph else None

    def _allocate(self, values: list[torch.Tensor]) -> None:
        self.bufs = [
            torch.empty((v.shape[0], self.block_size, *v.shape[1:]), dtype=v.dtype, device=v.device)
            for v in values
        ]

    def _run(self, n_steps: int) -> None:
        x = self.x
        for i in range(n_steps):
            x, internals = self.one_step(x)
            values = [probe(x, internals) for probe in self.probes]
            if self.bufs is None:
                self._allocate(values)
            for value, buf in zip(values, self.bufs, strict=True):
                buf[:, i].copy_(value)
        self.x.copy_(x)

    def _capture(self) -> torch.cuda.CUDAGraph:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        saved = self.x.clone()
        with torch.cuda.stream(stream), torch.no_grad():
            self._run(self.block_size)  # warm-up outside the graph (allocator, cuBLAS handles)
        torch.cuda.current_stream().wait_stream(stream)
        self.x.copy_(saved)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            self._run(self.block_size)
        self.x.copy_(saved)  # capture recorded the work but its effect must not count
        return graph

    @torch.no_grad()
    def block(self, n_steps: int) -> list[np.ndarray]:
        """Advance ``n_steps`` (<= block_size) and return the probes' values (batch, n_steps, ...)."""
        if self.graph is not None and n_steps == self.block_size:
            self.graph.replay()
        else:
            self._run(n_steps)
        # copy=True: on the CPU .cpu() would alias the buffer that the next block overwrites
        return [buf[:, :n_steps].to("cpu", copy=True).numpy() for buf in self.bufs]


def _chunk_dataset(probes, values, start_step: int, coords_extra) -> xr.Dataset:
    steps = np.arange(start_step, start_step + values[0].shape[1])
    data_vars = {p.name: (("sample", "step", *p.dims()), v) for p, v in zip(probes, values, strict=True)}
    return xr.Dataset(data_vars, coords={"step": steps, **coords_extra})


def _initial_values(probes, x0) -> list[np.ndarray]:
    """Probe values at t=0; internals do not exist before the first step, so they are NaN there."""
    out = []
    for probe in probes:
        if probe.needs:
            out.append(None)
        else:
            out.append(probe(x0, {})[:, None].cpu().numpy())
    return out


@torch.no_grad()
def run_trajectory(
    step: StepFn | WeightTiedMap,
    x0: torch.Tensor,
    n_steps: int,
    probes: Sequence[Probe] = (TokenSpread(),),
    attention_mask: torch.Tensor | None = None,
    block_size: int = 100,
    save_every: int = 10_000,
    out_dir: str | os.PathLike | None = None,
    attrs: dict | None = None,
    cuda_graph: bool | str = "auto",
    progress: bool = True,
) -> xr.Dataset:
    """Iterate ``step`` from ``x0`` for ``n_steps`` steps, recording the probes at t = 0..n_steps.

    Args:
        step: any map (batch, *state) -> (batch, *state); a
            :class:`~chaoslib.model.protocol.WeightTiedMap` if probes need internals.
        x0: (batch, tokens, hidden) initial states (any state shape for probes that allow it).
        probes: what to record each step (see ``chaoslib.dynamics.probes``); memory is O(batch * probe size * save_every).
        attention_mask: (batch, tokens) for the masked variant; ``None`` = pads active (default).
        block_size: steps per device block (and per CUDA-graph replay).
        save_every: steps per chunk written to ``out_dir`` (a multiple of ``block_size``).
        out_dir: stream chunks and checkpoints here and resume from them; ``None`` keeps all in memory.
        attrs: attributes (e.g. provenance) stored on the returned dataset and the files.
        cuda_graph: ``"auto"`` uses a CUDA graph when ``x0`` is on a GPU.

    Returns:
        ``xarray.Dataset`` with one variable per probe, dims ``("sample", "step", ...)``; its attrs
        include ``steps_per_second`` (compute throughput of this call).
    """
    if n_steps < 1:
        raise ChaoslibError(f"n_steps={n_steps}; it must be at least 1.")
    if not probes:
        raise ChaoslibError("probes is empty; record at least one thing (e.g. TokenSpread()).")
    if len({p.name for p in probes}) != len(probes):
        raise ChaoslibError("two probes share a name; give them distinct `name`s.")
    block_size = min(block_size, n_steps)
    save_every = max(block_size, (save_every // block_size) * block_size)
    for probe in probes:
        probe.bind(x0)
    coords_extra = {}
    for probe in probes:
        for dim, values in probe.coords().items():
            coords_extra.setdefault(dim, values)
    one_step = _step_with_internals(step, probes, attention_mask)
    use_graph = (cuda_graph is True) or (cuda_graph == "auto" and x0.is_cuda)

    out_path = Path(out_dir) if out_dir is not None else None
    start, x = 0, x0
    chunks: list[xr.Dataset] = []
    if out_path is not None:
        meta = _fingerprint(
            step,
            x0,
            n_steps=n_steps,
            block_size=block_size,
            save_every=save_every,
            probes=[repr(p) for p in probes],
            masked=attention_mask is not None,
        )
        start, x = _resume(out_path, meta, x0)
    first_values = _initial_values(probes, x0) if start == 0 else None

    recorder = _Recorder(one_step, probes, x, block_size, use_graph)
    bar = tqdm(total=n_steps, initial=start, disable=not progress, unit="step", desc="trajectory")
    pending: list[list[np.ndarray]] = []
    pending_start = start
    compute_time, computed = 0.0, 0
    t = start
    while t < n_steps:
        n = min(block_size, n_steps - t)
        tic = time.perf_counter()
        pending.append(recorder.block(n))  # .cpu() inside synchronises, so the timing is honest
        compute_time += time.perf_counter() - tic
        computed += n
        t += n
        bar.update(n)
        if (t - pending_start) >= save_every or t == n_steps:
            values = [np.concatenate([blk[i] for blk in pending], axis=1) for i in range(len(probes))]
            chunk_start = pending_start + 1
            if first_values is not None:  # prepend t=0 to the first chunk
                values = [
                    np.concatenate([fv if fv is not None else np.full_like(v[:, :1], np.nan), v], axis=1)
                    for fv, v in zip(first_values, values, strict=True)
                ]
                chunk_start, first_values = 0, None
            chunk = _chunk_dataset(probes, values, chunk_start, coords_extra)
            if out_path is not None:
                save_dataset(chunk, out_path / f"chunk_{chunk_start:010d}.nc")
                _save_checkpoint(out_path, t, recorder.x)
            else:
                chunks.append(chunk)
            pending, pending_start = [], t
    bar.close()

    if out_path is not None:
        files = sorted(out_path.glob("chunk_*.nc"))
        chunks = [load_dataset(f) for f in files]
    ds = xr.concat(chunks, dim="step") if len(chunks) > 1 else chunks[0]
    ds.attrs = dict(attrs or {})
    ds.attrs["steps_per_second"] = computed / compute_time if compute_time > 0 else float("nan")
    ds.attrs["device"] = str(x0.device)
    ds.attrs["cuda_graph"] = int(recorder.graph is not None)
    ds.attrs["attention_mask"] = "masked" if attention_mask is not None else "none (pads active)"
    return ds


def final_state(out_dir: str | os.PathLike) -> tuple[int, torch.Tensor]:
    """The (step, state) checkpoint of a streamed run."""
    ckpt = torch.load(Path(out_dir) / "state.pt", weights_only=True)
    return int(ckpt["step"]), ckpt["x"]


def _save_checkpoint(out_path: Path, step: int, x: torch.Tensor) -> None:
    import io

    buffer = io.BytesIO()
    torch.save({"step": step, "x": x.detach().cpu()}, buffer)
    atomic_write_bytes(out_path / "state.pt", buffer.getvalue())


def _resume(out_path: Path, meta: dict, x0: torch.Tensor) -> tuple[int, torch.Tensor]:
    meta_file = out_path / "run.json"
    if not meta_file.exists():
        out_path.mkdir(parents=True, exist_ok=True)
        for stale in out_path.glob("chunk_*.nc"):
            stale.unlink()
        write_json(meta_file, meta)
        return 0, x0
    old = read_json(meta_file)
    if old != meta:
        raise ChaoslibError(
            f"out_dir={str(out_path)!r} holds a different run ({old}); use another out_dir or delete it to start over."
        )
    if not (out_path / "state.pt").exists():
        return 0, x0
    step, x = final_state(out_path)
    for chunk in out_path.glob("chunk_*.nc"):  # a chunk written after the last checkpoint is incomplete work
        if int(chunk.stem.split("_")[1]) > step:
            chunk.unlink()
    return step, x.to(device=x0.device, dtype=x0.dtype)
