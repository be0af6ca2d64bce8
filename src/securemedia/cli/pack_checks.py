"""``pack``'s checks that point to the fix: ``-o DIR``, and files that change
while they are packed (refused by the library; the CLI names the option)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import click

from ..archive.changing import Change, InputChangedError
from ..errors import UsageError


def warn_changed(change: Change) -> None:
    """``pack --allow-changing``: say which file the archive holds differently."""
    # Not silenced by -q: the archive holds something else than the file is now.
    click.echo(
        f"securemedia: warning: {change.describe()}: packed {change.packed:,} bytes of it",
        err=True,
    )


@contextlib.contextmanager
def suggest_allow_changing() -> Iterator[None]:
    """Add the option that accepts a changing file to the library's refusal."""
    try:
        yield
    except InputChangedError as exc:
        raise InputChangedError(exc.change, f"{exc}, or give --allow-changing") from None


def check_not_directory(
    output: str, inputs: tuple[str, ...], suffix: str, media: str | None
) -> None:
    """Refuse ``-o DIR`` at once (before the scan), naming a file that would do.
    (With --media, ``-o NAME`` names the set: NAME.001 may lie beside a folder
    NAME, but ``-o DIR/`` would write ``DIR.001`` outside it.)"""
    if output == "-" or not Path(output).is_dir():
        return
    if not media or output.endswith(("/", os.sep)):
        stem = Path(inputs[0]).resolve().name if inputs[0] != "-" else "archive"
        suggested = Path(output) / f"{stem or 'archive'}{suffix}"
        raise UsageError(
            f"-o names the archive file to write, and {output} is a directory: "
            f"give a file name inside it, such as -o {suggested}"
        )
