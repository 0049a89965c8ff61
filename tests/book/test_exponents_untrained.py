"""Chapter 02 run on the untrained network (transformers' init, step 0 of pretraining) as its reference:
neither transient chaos (R1) nor a longer transient than random networks (R2) may be reported for it.

Perturbing x(0), the untrained network's first window is positive (the first LayerNorm rescales the
perturbation once); the chapter perturbs x(1), where its windows all contract, so both targets must read "does
not hold".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# small enough for CI on two cores: 6 inputs, 2 random networks, 3 windows, the controls on 3 inputs
SMALL = {
    "n_samples": 6,
    "n_steps": 30,
    "tau": 10,
    "control_samples": 3,
    "protocol_samples": 2,
    "protocol_windows": 2,
    "spectrum_samples": 1,
    "spectrum_steps": 10,
    "spectrum_k": 2,
    "spectrum_window": 5,
    "sensitivity_samples": 2,
}


@pytest.mark.slow
def test_the_untrained_network_shows_neither_transient_chaos_nor_a_longer_transient(tmp_path):
    results = tmp_path / "results"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "MPLBACKEND": "agg",
        "CHAOSLIB_RESULTS": str(tmp_path / "root"),
    }
    cmd = [
        str(VENV_BIN / "papermill"),
        "notebooks/02_exponents.ipynb",
        str(tmp_path / "out.ipynb"),
        "-p",
        "reference_weights",
        "random",
        "-p",
        "reference_init",
        "hf",
        "-p",
        "results_dir",
        str(results),
        "-p",
        "device",
        "cpu",
        "-k",
        "python3",
        "-y",
        "{comparison_seeds: [1, 2], sensitivity_eps: [0.01], spectrum_with_comparison: false}",
    ]
    for name, value in SMALL.items():
        cmd += ["-p", name, str(value)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    r1 = json.loads((results / "targets" / "R1.json").read_text())
    r2 = json.loads((results / "targets" / "R2.json").read_text())
    assert r1["holds"] is False, r1["measured"]
    assert r2["holds"] is False, r2["measured"]
    assert r1["unit"] == "inputs of one network" and r2["unit"] == "networks"
    assert "perturb x(1)" in r1["measured"] and r1["controls"] and r2["controls"]
    assert r1["measured"] and r2["measured"] and r2["interval"].startswith("median ratio")
