"""Salvage: restore every member that survives a damaged or incomplete archive.

The archive is opened as usual (header MAC, then the index with its signature
checked before it is parsed, and any required signer), so what is restored is
exactly what the sender signed. Then each file member is read on its own,
through the same staging as a normal extraction (:mod:`.staging`): a member
whose every chunk is present and authenticates, and whose size and BLAKE3
digest match the index, gets its name; any other one is dropped without a trace
under its real name and listed as lost. Directories carry nothing but the
metadata in the authenticated index, so they are always restored.

Bytes that no volume or salvage copy can supply raise
:class:`~securemedia.errors.LostDataError` from the source
(:mod:`securemedia.media.salvage_view`); bytes that are there but wrong fail
authentication (:class:`~securemedia.errors.IntegrityError`). Both cost only the
members whose chunks they touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IntegrityError, LostDataError, os_error, writing_to
from ..progress import Progress
from .extract import RestoredCounts, Stager
from .index import FILE, Member
from .reader import ArchiveReader
from .staging import Notice, Staging


@dataclass
class SalvageResult(RestoredCounts):
    """What :func:`salvage` restored, and every member it could not."""

    restored: list[Member] = field(default_factory=list)
    """Filled only when asked for (``list_members``): it costs memory per member."""
    lost: list[Member] = field(default_factory=list)


def salvage(
    reader: ArchiveReader,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    notice: Notice | None = None,
    list_members: bool = False,
) -> SalvageResult:
    """Restore into ``dest`` every member of ``reader`` that is intact; return
    what was restored and what was lost.

    The destination is checked for every member before anything is written, as
    :func:`~.extract.extract` does; members are moved to their final names
    together at the end (a failure or a signal before then leaves ``dest`` as it
    was). A member is lost when reading it raises LostDataError or
    IntegrityError; any other error stops the salvage.
    """
    result = SalvageResult()
    with writing_to(dest), Staging(dest, force=force, notice=notice, list_paths=False) as staging:
        total = 0
        for m in reader.iter_members():
            total += m.size
            staging.check_member(m.path, is_dir=m.type != FILE)
        staging.check_free_space(total)
        stager = Stager(staging, progress)
        for m in reader.iter_members():
            try:
                data = reader.open_member(m) if m.type == FILE else None
                # A file gets its staged name only once its reader returned its
                # end: every chunk authenticated, size and digest checked.
                stager.stage(m.path, m.mode, m.mtime_ns, data, m.size)
            except (LostDataError, IntegrityError):
                result.lost.append(m)
                continue
            except OSError as exc:
                raise os_error(exc, "write to", dest) from None
            result.count(m)
            if list_members:
                result.restored.append(m)
        staging.commit()
    return result
