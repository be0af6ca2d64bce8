"""What ``pack`` takes: paths on disk (files and directories) and standard
input, turned into members of an open :class:`ArchiveWriter`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import OperationalError, UsageError, packing_input
from .paths import NameSet
from .writer import ArchiveWriter


def member_names(inputs: Sequence[Path]) -> list[str]:
    """The top-level member name of each input: its own name, as ``tar`` does
    with a relative path. Two inputs with the same name are refused up front."""
    names = NameSet()
    result = []
    for path in inputs:
        name = path.resolve().name if path.name in ("", ".", "..") else path.name
        if not path.exists() and not path.is_symlink():
            raise OperationalError(f"{path}: no such file or directory")
        with packing_input():
            names.add(name, path.is_dir())
        result.append(name)
    return result


def write_inputs(
    writer: ArchiveWriter,
    inputs: Sequence[Path],
    *,
    stdin: BinaryIO | None = None,
    stdin_name: str = "stdin",
) -> None:
    """Add each input path (``-`` meaning ``stdin``) to an open writer."""
    real = [p for p in inputs if str(p) != "-"]
    names = iter(member_names(real))
    for path in inputs:
        if str(path) == "-":
            if stdin is None:
                raise UsageError("'-' (standard input) is not available here")
            with writer.open_member(stdin_name, mode=0o644) as member:
                while chunk := stdin.read(1 << 20):
                    member.write(chunk)
        else:
            writer.add_path(path, next(names))
