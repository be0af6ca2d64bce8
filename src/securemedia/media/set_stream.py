"""The archive a set of volumes holds, as one seekable stream, and what reading it rebuilt.

``open_set`` (behind :func:`~securemedia.media.volume_set.open_volume_set`)
opens a source per given disc (healing through its recovery data when it has
some, see ``sources.py``), composes the data volumes' payloads in archive
order - for a set with spare volumes, each through a
:class:`~securemedia.media.from_spares.StripedSource` that rebuilds what its
disc cannot give - and keeps a :class:`SetReport` of what was rebuilt.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LostDataError, MediaError
from .from_spares import Decode, StripedSource
from .sources import PayloadSource, open_sources
from .spares import decode_stripe
from .view import SizedView
from .volume_set import SetProblems, VolumeInfo, diagnose_set, read_volume_info_healed

if TYPE_CHECKING:
    from typing_extensions import Buffer


@dataclass(frozen=True)
class VolumeReport:
    """What reading rebuilt for one volume of the set, so far."""

    number: int
    label: str
    path: str | None
    """The disc file read, or None for a missing volume."""
    healed: int
    """Sectors rebuilt from the disc's own recovery data."""
    from_spares: int
    """Sectors of its payload rebuilt from the other volumes (spare volumes' parity)."""

    def line(self) -> str | None:
        """The operator's line for this volume, or None when it was read as it is."""
        parts = []
        if self.path is None:
            rebuilt = f": {_sectors(self.from_spares)} rebuilt from the spare volumes"
            return f"{self.label} is missing" + (rebuilt if self.from_spares else "")
        if self.healed:
            parts.append(f"{_sectors(self.healed)} rebuilt from its recovery data")
        if self.from_spares:
            parts.append(f"{_sectors(self.from_spares)} rebuilt from the spare volumes")
        return f"{self.label}: " + ", ".join(parts) if parts else None

    def to_json(self) -> dict[str, object]:
        return {
            "volume": self.number,
            "label": self.label,
            "path": self.path,
            "missing": self.path is None,
            "sectors_healed": self.healed,
            "sectors_from_spares": self.from_spares,
        }


def _sectors(count: int) -> str:
    """``count`` sectors, in words ("1 sector", "2,048 sectors")."""
    return f"{count:,} sector" + ("" if count == 1 else "s")


class SetReport:
    """Per volume of the set: missing or not, sectors rebuilt. Live: read it after reading."""

    def __init__(
        self,
        problems: SetProblems,
        infos: dict[int, VolumeInfo],
        sources: dict[int, PayloadSource],
        payloads: dict[int, PayloadSource],
        unreadable: list[tuple[Path, str]],
    ) -> None:
        self.count, self.spares = problems.count, problems.spares
        self.missing = list(problems.missing)
        self.unreadable = unreadable
        """Given files whose volume header could not be read at all (counted as missing)."""
        self._problems = problems
        self._infos, self._sources, self._payloads = infos, sources, payloads

    @property
    def volumes(self) -> list[VolumeReport]:
        """Every volume of the set, data then spares."""
        out = []
        for n in range(1, self.count + self.spares + 1):
            info = self._infos.get(n)
            source = self._sources.get(n)
            payload = self._payloads.get(n)
            out.append(
                VolumeReport(
                    n,
                    self._problems.label(n),
                    str(info.path) if info else None,
                    int(getattr(source, "rebuilt", 0)),
                    payload.rebuilt if isinstance(payload, StripedSource) else 0,
                )
            )
        return out

    def lines(self) -> list[str]:
        """One line per volume that was missing, unreadable or rebuilt (empty: all intact)."""
        out = [f"{path}: unreadable ({why}): counted as missing" for path, why in self.unreadable]
        return out + [line for v in self.volumes if (line := v.line()) is not None]

    def to_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "spares": self.spares,
            "missing": self.missing,
            "unreadable": [{"path": str(p), "error": why} for p, why in self.unreadable],
            "volumes": [v.to_json() for v in self.volumes],
        }


class SetStream(io.BufferedReader):
    """The archive of a set: a buffered, seekable binary stream with ``report``.

    ``sources`` are the given volumes' own sources (data and spare volumes, by
    number), ``infos`` their headers: salvage reads the copies they carry.
    """

    def __init__(
        self,
        raw: _Payloads,
        report: SetReport,
        sources: dict[int, PayloadSource],
        infos: dict[int, VolumeInfo],
    ) -> None:
        super().__init__(raw, buffer_size=1024 * 1024)
        self.report = report
        self.sources = sources
        self.infos = infos

    def close(self) -> None:
        try:
            super().close()
        finally:
            for source in self.sources.values():
                source.close()


def open_set(paths: list[Path], *, salvage: bool = False) -> SetStream:
    """See :func:`~securemedia.media.volume_set.open_volume_set`."""
    infos: list[VolumeInfo] = []
    unreadable: list[tuple[Path, MediaError]] = []
    for path in paths:
        try:
            infos.append(read_volume_info_healed(path))
        except MediaError as exc:
            unreadable.append((path, exc))
    if not infos:
        if unreadable:
            raise unreadable[0][1]
        raise MediaError("no volumes given")
    problems = diagnose_set(infos)
    hard = [m for m in problems.messages() if m not in problems.missing_messages()]
    if hard or (not salvage and not problems.restorable):
        raise MediaError("; ".join([str(e) for _, e in unreadable] + problems.messages()))
    if unreadable and not salvage and problems.spares == 0:
        raise unreadable[0][1]
    members = {i.header.number: i for i in infos if i.header.set_id == problems.set_id}
    sources = open_sources(list(members.values()))
    try:
        payloads = payload_sources(problems, members, sources)
    except BaseException:
        for source in sources.values():
            source.close()
        raise
    report = SetReport(problems, members, sources, payloads, [(p, str(e)) for p, e in unreadable])
    total = next(iter(members.values())).header.archive_length
    return SetStream(_Payloads(total, payloads, problems), report, sources, members)


def payload_sources(
    problems: SetProblems, members: dict[int, VolumeInfo], sources: dict[int, PayloadSource]
) -> dict[int, PayloadSource]:
    """The source of every data volume's payload that can be served, by number.

    With spares, every data volume gets one: a missing volume's bytes are rebuilt
    from the others' stripes where enough of them survive (else LostDataError).
    """
    if not problems.spares:
        return {n: s for n, s in sources.items() if n <= problems.count}
    known = next(iter(members.values())).header
    decode = _decode_stripe()
    return {
        n: StripedSource(members[n].header if n in members else known.sibling(n), sources, decode)
        for n in range(1, problems.count + 1)
    }


def _decode_stripe() -> Decode:
    return decode_stripe


class _Payloads(SizedView):
    """The data volumes' payloads, in archive order, read as one file.

    Bytes no volume covers (a missing volume, in salvage) raise LostDataError
    naming the missing volumes.
    """

    def __init__(
        self, size: int, payloads: dict[int, PayloadSource], problems: SetProblems
    ) -> None:
        super().__init__(size)
        self._problems = problems
        # (start, length, source); a gap (source None) holds its end in place of
        # a length, and the missing volumes it stands for are in _gaps.
        self._spans: list[tuple[int, int, PayloadSource | None]] = []
        self._gaps: dict[int, list[int]] = {}
        at, previous = 0, 0
        for n in [*sorted(payloads), problems.count + 1]:
            header = payloads[n].header if n in payloads else None
            end = header.payload_offset if header is not None else size
            if end > at:
                self._gaps[len(self._spans)] = list(range(previous + 1, n))
                self._spans.append((at, end, None))
            if header is not None:
                self._spans.append((header.payload_offset, header.payload_length, payloads[n]))
                at = header.payload_offset + header.payload_length
            previous = n
        self._starts = [start for start, _, _ in self._spans]

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= self._size or not len(view):
            return 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        start, length_or_end, source = self._spans[index]
        if source is None:
            raise self._gap(index)
        within = self._pos - start
        want = min(len(view), length_or_end - within)
        if want <= 0:
            return 0
        try:
            data = source.read_payload(within, want)
        except LostDataError as exc:
            # Give what precedes the first lost byte (a short read); raise only
            # for a read that starts on lost bytes, so that a reader (salvage)
            # gets every readable byte up to the damage.
            first = min((a for a, _ in exc.ranges), default=self._pos)
            if first <= self._pos:
                raise
            want = first - self._pos
            data = source.read_payload(within, want)
        view[:want] = data
        self._pos += want
        return want

    def _gap(self, index: int) -> LostDataError:
        start, end, _ = self._spans[index]
        names = " and ".join(self._problems.label(n) for n in self._gaps[index])
        return LostDataError(
            f"archive bytes {start:,}-{end - 1:,} are on {names or 'a missing volume'}, "
            "which is missing",
            [(start, end)],
        )
