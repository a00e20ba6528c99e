"""bench/core.py runs (a smoke test: ratios depend on the machine, so no target is asserted)."""
import importlib.util
import pathlib


def test_core_bench_runs_and_reports_a_ratio_per_case(capsys):
    path = pathlib.Path(__file__).resolve().parents[1] / "bench" / "core.py"
    spec = importlib.util.spec_from_file_location("bench_core", path)
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    results = core.main(["--rounds", "1", "--calls", "20"])
    out = capsys.readouterr().out
    assert [name for name, _, _ in results] == [name for name, _, _, _ in core.CASES]
    assert all(ratio > 0 for _, ratio, _ in results)
    assert "torch threads: 1" in out and "ratio" in out
