"""Sweeps of independent trials: in-process one after another, or one Ray task per trial on a cluster.

A sweep is a list of trials, each a dict of settings (JSON values), and one function that runs a
trial: ``fn(settings) -> dict`` of results (numbers, strings, lists, dicts, numpy arrays, torch
tensors). :func:`run_sweep` runs every trial not yet finished and returns one :class:`TrialRecord`
per trial, in the order given. Usage (the GLUE/MLM sweeps need nothing else)::

    from chaoslib.sweep import run_sweep

    def one_trial(settings: dict) -> dict:  # module level (Ray pickles it); builds what it needs itself
        torch.manual_seed(settings["seed"])
        score = train_and_score(settings["task"], settings["depth"], settings["arm"])  # your computation
        return {"score": score, "curve": np.asarray(...)}  # numbers, lists, numpy arrays, tensors

    trials = [{"task": "stsb", "depth": d, "arm": a, "seed": 0} for d in (1, 12, 100) for a in ARMS]
    records = run_sweep(trials, one_trial, executor=executor, ray_address=ray_address,
                        store=results_dir / "glue_trials", resources={"num_gpus": 1})
    scores = [r.result["score"] for r in records]  # trial order; r.settings, r.elapsed_s, r.host

- ``executor="local"`` (default) runs the trials in this process, one after another; ``"ray"``
  connects with ``ray.init(address=ray_address)`` (``None``: a local Ray instance on this machine)
  and runs one task per trial with the ``resources`` it declares (``{"num_gpus": 1}``; a callable
  ``settings -> dict`` for per-trial needs; default one CPU). Both are papermill parameters:
  ``-p executor ray -p ray_address HOST:6379``.
- ``store`` (a folder or a ``chaoslib.store.TrialStore``) keeps one JSON file per finished trial,
  named by the hash of its settings (:func:`trial_key`). The DRIVER writes it from the returned
  results, so a cluster needs no shared file system and no two workers ever record one trial. A
  finished trial is never run again: after any interruption (a killed worker, a killed driver,
  a failed trial) rerun the same call and only the missing trials run.
- A trial that raises does not stop the others; when all have finished, :class:`SweepFailed`
  names each failed trial's settings and error (``on_error="collect"`` returns them instead).
  A failed trial is not stored, so the rerun tries it again.
- ``threads`` sets torch's thread count inside each trial (Ray gives every worker
  ``OMP_NUM_THREADS`` = its CPUs); pass it to get bit-identical results from both executors.
- A progress bar counts finished trials in both executors (``progress=False`` hides it).

Run one driver per store at a time. Every trial must be independent of the others.
"""

from chaoslib.sweep.engine import (
    EXECUTORS,
    SweepFailed,
    SweepResult,
    TrialFailure,
    TrialRecord,
    canonical_settings,
    decode_result,
    encode_result,
    run_sweep,
    trial_key,
)

__all__ = [
    "EXECUTORS",
    "SweepFailed",
    "SweepResult",
    "TrialFailure",
    "TrialRecord",
    "canonical_settings",
    "decode_result",
    "encode_result",
    "run_sweep",
    "trial_key",
]
