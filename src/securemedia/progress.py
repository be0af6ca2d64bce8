"""How the library reports progress, for a caller that wants to show it.

The library never draws anything (no rich, no click): it calls plain callables
and the CLI renders them. Two shapes:

- :data:`Progress`, ``progress(n)``: ``n`` more units (bytes) of the current
  job are done.
- :data:`Phases`, ``phases(label, total)``: a new step of a longer job begins
  (``"disc 1 of 2: recovery data"``, ``total`` units, None if unknown); it
  returns the step's :data:`Progress`. A later call ends the step before it.

A step that the caller did not ask to see costs one no-op call per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, TypeVar

Progress = Callable[[int], None]
Phases = Callable[[str, int | None], Progress]

_T = TypeVar("_T", bound=bytes | bytearray | memoryview)


def ignore(_n: int) -> None:
    """A :data:`Progress` that shows nothing."""


def no_phases(_label: str, _total: int | None) -> Progress:
    """A :data:`Phases` that shows nothing."""
    return ignore


def counted(pieces: Iterable[_T], progress: Progress | None) -> Iterator[_T]:
    """``pieces`` unchanged, reporting each one's length to ``progress`` as it is taken."""
    if progress is None:
        yield from pieces
        return
    for piece in pieces:
        yield piece
        progress(len(piece))


class ReportedReads:
    """A readable file that reports each read's length to ``progress``: for a
    consumer that pulls the data itself (tarfile only calls ``read``)."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._progress(len(data))
        return data


__all__ = ["Phases", "Progress", "ReportedReads", "counted", "ignore", "no_phases"]
