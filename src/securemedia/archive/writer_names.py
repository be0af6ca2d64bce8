"""The writer's member-name checks: the reader's rules (docs/FORMAT.md section
8), so that pack never produces an archive its reader refuses, in memory that
does not grow with the member count when the names come from a scan."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..errors import packing_input
from .index_stream import iter_index
from .name_check import NameCheck
from .paths import NameSet, validate_member_name


class WriterNames:
    """Names given one by one (the API) are checked at once against each other
    (:class:`NameSet`); names of a scan were checked against each other by the
    scan and are not held here. Every name also goes into a spilling
    :class:`NameCheck`, run at :meth:`check` when any name came from a scan: it
    catches a scanned name that collides with a hand-added one or with another
    scan's (two ``add_path`` calls)."""

    def __init__(self) -> None:
        self._one_by_one = NameSet()
        self._all = NameCheck()
        self._scanned = False

    def admit(self, name: str, is_dir: bool, scanned: bool) -> None:
        """Raise InputError if ``name`` is unsafe, or (given one by one) taken."""
        with packing_input():  # an unsafe or colliding name: the input's fault
            validate_member_name(name)
            if scanned:
                self._scanned = True
            else:
                self._one_by_one.add(name, is_dir)

    def record(self, number: int, name: str, is_dir: bool) -> None:
        """Note member ``number``'s name, once it is sure to be written."""
        self._all.add(number, name, is_dir)

    def check(self, index_pieces: Callable[[], Iterator[bytes]], members_end: int) -> None:
        """Raise InputError for the first collision among all names, if any came
        from a scan. ``index_pieces()`` gives the index as written so far, to
        name the member in the message."""
        names, self._all = self._all, NameCheck()
        if not self._scanned:
            names.close()
            return

        def name_of(number: int) -> str:
            for at, member in enumerate(iter_index(index_pieces(), members_end)):
                if at == number:
                    return member.path
            raise AssertionError("no such member")  # pragma: no cover

        with packing_input():
            names.finish(name_of)

    def close(self) -> None:
        self._all.close()
