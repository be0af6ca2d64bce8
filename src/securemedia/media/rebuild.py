"""Rebuilding the lost discs of a set with spare volumes, as files ready to burn.

``repair`` reads the surviving volumes of the set, only through
:class:`~securemedia.media.sources.PayloadSource` objects (so that a damaged
survivor can be read healed by its own recovery data), decodes each stripe
with the cross-volume parity (``spares.py``) and writes every missing volume
as the disc file the set was made with: a volume file, or an ISO image with
its README, with recovery data when the set's discs had it. Everything is
staged and published together (:class:`~securemedia.atomic.StagingDirectory`):
nothing half-written is ever left under a final name.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..atomic import StagingDirectory
from ..errors import MediaError, OperationalError, os_error
from ..progress import Phases, Progress, ignore, no_phases
from . import iso as iso_mod
from . import recovery
from .disc_files import finish_disc
from .disc_names import disc_file_name, parse_disc_file_name, volume_file_name
from .header import (
    FLAG_IMAGE_PROTECTED,
    FLAG_VOLUME_PROTECTED,
    VolumeHeader,
)
from .readme import SENDER_LINE, read_notice
from .salvage_copy import append_block
from .sectors import Layout, layout_for_redundancy
from .sources import PayloadSource
from .spares import decode_stripe, encode_stripe, stripe_width
from .volume_set import VolumeInfo


class TooManyMissingError(MediaError):
    """More volumes of a set are missing than its spare volumes can rebuild."""


@dataclass(frozen=True)
class RebuildPlan:
    """What is missing from a set with spares, and how its disc files were made."""

    template: VolumeHeader
    """A surviving header: every field but number, offset and length is the set's."""
    present: dict[int, VolumeInfo]
    """The surviving volumes by number (1-based; spares after the data volumes)."""
    missing: list[int]
    base_name: str
    """``NAME`` of ``NAME.001.iso``: the rebuilt files are named like the originals."""
    iso: bool
    redundancy: float | None
    """The recovery data to add, as the surviving discs have it (None: none)."""
    notice: str | None
    """The sender's contact for README.TXT, read from a surviving image."""

    def header(self, number: int) -> VolumeHeader:
        """The header volume ``number`` of the set has (all its fields follow from the set)."""
        return self.template.sibling(number)

    def file_name(self, number: int) -> str:
        """The disc file name of volume ``number``: ``NAME.00k.smv`` or ``NAME.00k.iso``."""
        return disc_file_name(self.base_name, number, iso=self.iso)

    def describe_missing(self) -> str:
        """``volumes 2, 5 of 4+1``-style naming of what is missing."""
        t = self.template
        word = "volume" if len(self.missing) == 1 else "volumes"
        numbers = ", ".join(str(n) for n in self.missing)
        return f"{word} {numbers} of {t.count}+{t.spares}"


def plan_rebuild(infos: list[VolumeInfo]) -> RebuildPlan | None:
    """The rebuild the given surviving volumes call for, or None if there is none.

    None when the set has no spares or nothing is missing. Raises MediaError
    when more volumes are missing than the set has spares (naming them), or
    when the survivors disagree about the set.
    """
    if not infos:
        return None
    votes = Counter(info.header.set_id for info in infos)
    set_id = votes.most_common(1)[0][0]
    members = [i for i in infos if i.header.set_id == set_id]
    template = members[0].header
    if not template.spares:
        return None
    present: dict[int, VolumeInfo] = {}
    plan = RebuildPlan(template, present, [], "", False, None, None)
    for info in members:
        # A finder controls every header: each survivor must be exactly the
        # volume its number implies, or its payload would be read out of bounds
        # or burned into a rebuilt disc from the wrong place.
        if info.header != plan.header(info.header.number):
            raise MediaError(
                f"{info.path}: {info.header.label()} disagrees with the other volumes "
                "about the set (damaged or altered header)"
            )
        if info.header.number in present:
            raise MediaError(
                f"{info.header.label()} was given more than once "
                f"({present[info.header.number].path}, {info.path})"
            )
        present[info.header.number] = info
    missing = [n for n in range(1, template.total + 1) if n not in present]
    if not missing:
        return None
    plan = dataclasses.replace(plan, missing=missing)
    if len(missing) > template.spares:
        raise TooManyMissingError(
            f"cannot rebuild: {plan.describe_missing()} are missing and the set has "
            f"{template.spares} spare volume(s), which rebuild at most {template.spares}"
        )
    survivors = list(present.values())
    iso = Counter(i.image for i in survivors).most_common(1)[0][0]
    return dataclasses.replace(
        plan,
        base_name=_base_name(survivors),
        iso=iso,
        redundancy=_redundancy(survivors, template),
        notice=_notice(survivors) if iso else None,
    )


def _base_name(survivors: list[VolumeInfo]) -> str:
    for info in survivors:
        parsed = parse_disc_file_name(info.path.name)
        if parsed is not None and parsed[1] == info.header.number:
            return parsed[0]
    raise MediaError(
        "cannot tell the set's file name from the surviving files "
        "(expected names like NAME.001.smv or NAME.001.iso): rename them"
    )


def _redundancy(survivors: list[VolumeInfo], template: VolumeHeader) -> float | None:
    """The ``--redundancy`` the set was made with, as the surviving discs show it.

    The recovery descriptor names the code (k data + p parity sectors per group),
    not the fraction asked for; the fraction is the roundest one (a whole
    percentage first, then tenths and hundredths of one) that gives every
    surviving disc exactly the layout it has.
    """
    if not template.flags & (FLAG_VOLUME_PROTECTED | FLAG_IMAGE_PROTECTED):
        return None
    layouts: list[Layout] = []
    for info in survivors:
        with contextlib.suppress(MediaError):
            layouts.append(recovery.protected_layout(info.path))
    if not layouts:
        raise MediaError(
            "the set's discs carry recovery data but no surviving disc's recovery "
            "descriptor is readable: repair the surviving discs first"
        )
    for scale in (100, 1000, 10000):
        for whole in _candidates(scale):
            fraction = whole / scale
            if all(layout_for_redundancy(lay.data_size, fraction) == lay for lay in layouts):
                return fraction
    raise MediaError("cannot tell the redundancy of the set's recovery data from its discs")


def _candidates(scale: int) -> list[int]:
    first = [int(recovery.DEFAULT_REDUNDANCY * scale)] if scale == 100 else []
    return first + [w for w in range(1, scale + 1) if scale == 100 or w % (scale // 100)]


def _notice(survivors: list[VolumeInfo]) -> str | None:
    """The sender's contact text from the first surviving image's README.TXT."""
    for info in survivors:
        try:
            with info.path.open("rb") as fp:
                raw = iso_mod.read_readme(fp)
        except OSError:
            continue
        if raw is not None and SENDER_LINE.encode() in raw:
            return read_notice(raw)
    return None


def rebuild_missing(
    plan: RebuildPlan,
    sources: Mapping[int, PayloadSource],
    out_dir: Path,
    *,
    force: bool = False,
    copy_from: VolumeInfo | None = None,
    phases: Phases = no_phases,
) -> list[Path]:
    """Rebuild ``plan.missing`` into ``out_dir`` from ``sources`` (surviving volumes by number).

    Each missing volume becomes the disc file it was (``NAME.00k`` or
    ``NAME.00k.iso``), with recovery data as ``plan.redundancy`` says. The files
    appear together, or none does; an existing file is replaced only with
    ``force``. The salvage-copy block, when the set has one, is copied from
    ``copy_from`` (default: the first surviving volume of the plan). Returns
    their paths in volume order. ``phases`` is told of each step (decoding,
    then each disc's image and recovery data).
    """
    t = plan.template
    usable = sorted(n for n in sources if n not in plan.missing)
    if len(usable) < t.count:
        raise MediaError(
            f"cannot rebuild: {t.count + t.spares - len(usable)} volumes of "
            f"{t.count}+{t.spares} are missing or unreadable, and the set has "
            f"{t.spares} spare volume(s)"
        )
    # Data volumes first: they need no decoding. One more survivor, if there is
    # one, checks every stripe: survivors that disagree (one silently damaged)
    # must not make a wrong disc.
    chosen = usable[: t.count + 1]
    with StagingDirectory(out_dir, plan.base_name) as staging:
        parts = {n: volume_file_name(plan.base_name, n) for n in plan.missing}
        with contextlib.ExitStack() as stack:
            try:
                outs = {n: stack.enter_context(staging.create(parts[n])) for n in plan.missing}
                for n, out in outs.items():
                    out.write(plan.header(n).pack())
                progress = phases(f"rebuilding {plan.describe_missing()}", t.stripe_length)
                _write_payloads(plan, {n: sources[n] for n in chosen}, outs, progress)
                if t.has_copy:
                    _write_copies(copy_from or next(iter(plan.present.values())), outs, plan)
            except OSError as exc:
                why = exc.strerror or exc
                raise OperationalError(f"cannot write to {out_dir}: {why}") from None
        staged = [_finish(plan, staging, n, parts[n], phases) for n in plan.missing]
        return staging.publish(
            [(name, plan.file_name(n)) for n, name in zip(plan.missing, staged, strict=True)],
            force=force,
        )


def _write_payloads(
    plan: RebuildPlan,
    chosen: Mapping[int, PayloadSource],
    outs: Mapping[int, BinaryIO],
    progress: Progress = ignore,
) -> None:
    """Decode the set stripe by stripe and append the missing payloads to ``outs``."""
    t = plan.template
    stripe = t.stripe_length
    lengths = {n: plan.header(n).payload_length for n in range(1, t.total + 1)}
    width = stripe_width(t.total)
    numbers = sorted(chosen)
    check = numbers[t.count] if len(numbers) > t.count else None
    spares_needed = any(n > t.count for n in [*outs, *([check] if check else [])])
    for start in range(0, stripe, width):
        size = min(width, stripe - start)
        present: dict[int, bytes] = {}
        for n in numbers:
            have = max(0, min(size, lengths[n] - start))
            data = chosen[n].read_payload(start, have) if have else b""
            present[n - 1] = data.ljust(size, b"\0")  # a short payload reads as zero-padded
        extra = present.pop(check - 1) if check else None
        columns = decode_stripe(t.count, t.spares, present)
        # Every volume's bytes of this stripe, by 0-based index (spares when needed).
        rows = columns + (encode_stripe(columns, t.spares) if spares_needed else [])
        if check and extra != rows[check - 1]:
            raise MediaError(
                f"the surviving volumes disagree at payload bytes {start:,}-{start + size - 1:,} "
                "(one of them is damaged): repair or verify them first"
            )
        for n, out in outs.items():
            out.write(rows[n - 1][: max(0, min(size, lengths[n] - start))])
        progress(size)


def _write_copies(info: VolumeInfo, outs: Mapping[int, BinaryIO], plan: RebuildPlan) -> None:
    """The salvage-copy block, the same in every volume: taken from survivor ``info``."""
    t = plan.template
    if info.header.set_id != t.set_id or info.header.copy_length != t.copy_length:
        raise MediaError(f"{info.path}: not a volume of this set")
    try:
        fp = info.path.open("rb")
    except OSError as exc:
        raise os_error(exc, "read", info.path) from exc
    with fp:
        for n, out in outs.items():
            append_block(out, plan.header(n), fp, info.offset + info.header.copy_offset)


def _finish(
    plan: RebuildPlan, staging: StagingDirectory, number: int, part: str, phases: Phases
) -> str:
    """Turn the staged volume file into its disc file (image, recovery data)."""
    t = plan.template
    return finish_disc(
        staging,
        part,
        number=number,
        count=t.count,
        set_hex=t.set_hex,
        notice=plan.notice,
        spares=t.spares,
        iso=plan.iso,
        redundancy=plan.redundancy,
        phases=phases,
    )


__all__ = ["RebuildPlan", "TooManyMissingError", "plan_rebuild", "rebuild_missing"]
