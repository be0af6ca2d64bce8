"""Output conventions: results on stdout, messages and progress on stderr,
progress only on a terminal, one JSON document with ``--json``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

Progress = Callable[[int], None]


def emit_json(doc: dict[str, Any], *, to_stderr: bool = False) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False)
    click.echo(text, err=to_stderr)


def info(message: str, *, quiet: bool) -> None:
    if not quiet:
        click.echo(message, err=True)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


@contextlib.contextmanager
def progress_bar(label: str, total: int | None, *, quiet: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def total_size(paths: list[str]) -> int | None:
    """Sum of input file sizes for the progress bar (None if unknown, e.g. stdin)."""
    total = 0
    for p in paths:
        if p == "-":
            return None
        if os.path.isdir(p):
            for root, _dirs, files in os.walk(p):
                for f in files:
                    with contextlib.suppress(OSError):
                        total += os.lstat(os.path.join(root, f)).st_size
        else:
            with contextlib.suppress(OSError):
                total += os.path.getsize(p)
    return total
