"""The load command's short version (the 10-minute soaks run from bench/bench_load.py, figures in
docs/RELIABILITY.md): 20 signed terminals paying and pulling for a few seconds against a real
backend process on PostgreSQL; no error, every approval booked once, ledger balanced."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_load_command_short_run(pg_template, tmp_path):  # noqa: ARG001 - pg_template: skip/fail like other PG tests
    out = tmp_path / "load.json"
    done = subprocess.run([sys.executable, "bench/bench_load.py", "--terminals", "20", "--duration", "6",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={**os.environ})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["errors"] == 0 and figures["pull_errors"] == 0 and figures["approved"] > 0
    assert figures["comparison_problems"] == [] and figures["ledger_ok"]
