"""What the numbers were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def describe() -> dict[str, Any]:
    """Cores, CPU model, RAM, kernel, Python and the load when asked."""
    mem_kib = _proc_field("/proc/meminfo", "MemTotal")
    ram_gib = round(int(mem_kib.split()[0]) / 1024 / 1024, 1) if mem_kib else None
    return {
        "cores": os.cpu_count(),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "ram_gib": ram_gib,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
