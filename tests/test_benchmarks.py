"""The benchmark script runs end to end (smoke mode) and writes a complete report. No time is asserted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_smoke_writes_results_table_and_json(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke", "--out", str(tmp_path)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["smoke"] is True and results["machine"]["cores"] >= 1
    assert set(results) >= {"course_execution", "training_overhead", "closeness", "explorers", "import", "later"}
    assert set(results["later"]) >= {"diagnose", "bottlenecks", "ignite", "digits"}  # later notebooks add theirs
    assert set(results["training_overhead"]["ratio_to_by_hand"]) == {"by_hand", "helpers_fit", "ignite"}
    assert len(results["closeness"]["recipes"]) == 3
    table = (tmp_path / "RESULTS.md").read_text()
    assert "| measure | goal | measured | verdict |" in table and "SMOKE RUN" in table
    for measure in ("Course execution", "helpers.fit", "ignite", "first epoch within 1e-3", "Explorer redraw", "Import cost",
                    "diagnose, 5 steps", "Bottleneck fixed", "ignite Engine / hand loop", "Digits CNN test accuracy"):
        assert measure in table
