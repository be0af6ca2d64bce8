"""The CLI keeps large buffers in the heap (see securemedia/cli/allocator.py)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt",
)
def test_thresholds_take_effect_on_glibc() -> None:
    # In a child: the setting is process-wide and must not leak into the test run.
    code = "from securemedia.cli.allocator import keep_large_buffers as k; print(k())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
