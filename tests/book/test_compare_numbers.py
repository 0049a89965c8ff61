"""scripts/compare_numbers.py: two builds' glued numbers and target records, compared exactly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_numbers.py"


def _script():
    spec = importlib.util.spec_from_file_location("compare_numbers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(root: Path, numbers: dict, target: dict) -> Path:
    (root / "exponents").mkdir(parents=True)
    (root / "targets").mkdir()
    (root / "exponents" / "numbers.json").write_text(json.dumps(numbers))
    (root / "targets" / "R1.json").write_text(json.dumps(target))
    return root


def test_identical_builds_pass_and_one_bit_fails(tmp_path, capsys):
    compare = _script()
    numbers = {"exp_lambda0": 0.1 + 0.2, "exp_r1": "holds"}
    before = _build(tmp_path / "a", numbers, {"holds": True})
    same = _build(tmp_path / "b", dict(numbers), {"holds": True})
    assert compare.main([str(before), str(same)]) == 0
    # 0.30000000000000004 vs 0.3: equal to print precision, not bit for bit
    changed = _build(tmp_path / "c", {**numbers, "exp_lambda0": 0.3}, {"holds": False})
    out = tmp_path / "report.md"
    assert compare.main([str(before), str(changed), "--out", str(out)]) == 1
    report = out.read_text()
    assert "| exponents | 2 | 1 |" in report and "`exp_lambda0`" in report and "| target R1 | 1 | 1 |" in report
    assert report.endswith("2 values differ.\n")
    capsys.readouterr()


def test_a_key_missing_on_one_side_is_a_difference(tmp_path):
    compare = _script()
    before = _build(tmp_path / "a", {"x": 1, "gone": 2}, {})
    after = _build(tmp_path / "b", {"x": 1}, {})
    lines, n_diff = compare.compare(before, after)
    assert n_diff == 1 and any("`gone`" in line and "<missing>" in line for line in lines)
