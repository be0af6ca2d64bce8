"""Smoke tests of benchmarks/passphrase_cost.py and benchmarks/postgres_export.py,
on small inputs, so that the scripts behind the figures in the README cannot rot."""

from __future__ import annotations

import re

import pytest

import pg_support
from bench_support import run_bench


def test_passphrase_cost_reports_the_budget_and_the_phrases() -> None:
    done = run_bench("passphrase_cost.py", "--rounds", "1", "--sample", "20")
    assert done.returncode == 0, done.stderr
    assert re.search(r"[0-9.]+ s per guess here", done.stdout)
    assert "100 GPUs for a year" in done.stdout
    assert "4 random words" in done.stdout and "20/20 pass" in done.stdout


def test_postgres_export_reports_rows_per_second() -> None:
    why = pg_support.missing()
    if why:
        pytest.skip(why)
    done = run_bench("postgres_export.py", "--rows", "20000", "--rounds", "1", timeout=120)
    assert done.returncode == 0, done.stderr
    assert re.search(r"20,000 rows: export [0-9,]+ rows/s", done.stdout), done.stdout
