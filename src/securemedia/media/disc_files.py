"""Turning one staged volume file into the file that goes on its disc.

Shared by the writer of a new set (:mod:`.volumes`) and by the rebuild of lost
discs (:mod:`.rebuild`), so that a rebuilt disc is made by exactly the steps
that made the original: with ``iso``, the volume file becomes a disc image
(with its README) and is removed at once, keeping peak disk use to the archive
plus one image; then the recovery data is appended to the disc file.

The names of the files are in :mod:`.disc_names`.
"""

from __future__ import annotations

from typing import Literal

from ..atomic import StagingDirectory
from ..progress import Phases, no_phases
from . import iso as iso_mod
from . import recovery
from .disc_names import IMAGE_SUFFIX, VOLUME_SUFFIX
from .iso_around import build_around
from .readme import render_readme
from .sector_sums import StagedSums


def finish_disc(
    staging: StagingDirectory,
    part: str,
    *,
    number: int,
    count: int,
    set_hex: str,
    notice: str | None,
    spares: int,
    iso: bool,
    redundancy: float | Literal["default"] | None,
    phases: Phases = no_phases,
    offset: int = 0,
    sums: StagedSums | None = None,
) -> str:
    """Make staged volume ``part`` (volume ``number`` of ``count`` data volumes)
    into its disc file in ``staging``; returns the disc file's staged name.

    ``redundancy`` is the recovery data to add: a fraction, ``"default"`` for the
    recovery module's default, None for none. ``phases`` is told of each step
    ("disc 1 of 2: writing image", "disc 1 of 2: recovery data").

    With ``iso``, the volume file may start at ``offset`` of ``part``: where
    the writer planned its image to hold it (:mod:`.iso_around`). The image is
    then written around it in the same file, or by a copy if the plan failed.
    ``sums`` names the side file of sector checksums taken as ``part`` was
    written (:mod:`.sector_sums`), which spares a pass over the disc file; it
    is removed here.
    """
    disc = part
    at = offset  # where the volume file is in the disc file
    # Spares are numbered after the data volumes: "disc 5 of 5", not "of 4".
    which = f"disc {number} of {count + spares}"
    if iso:
        disc = part.removesuffix(VOLUME_SUFFIX) + IMAGE_SUFFIX
        readme = render_readme(
            volume_name=part,
            number=number,
            count=count,
            set_hex=set_hex,
            notice=notice,
            spares=spares,
        )
        size = (staging.path / part).stat().st_size - offset
        progress = phases(f"{which}: writing image", size)
        if offset and build_around(
            staging.path / part,
            offset,
            volume_name=part,
            number=number,
            readme=readme,
            set_hex=set_hex,
            progress=progress,
        ):
            staging.rename(part, disc)
        else:
            at = iso_mod.build_image(
                staging.path / part,
                staging.path / disc,
                volume_name=part,
                number=number,
                readme=readme,
                set_hex=set_hex,
                progress=progress,
                offset=offset,
            )
            staging.remove(part)  # keep peak disk use to the archive plus one image
    if redundancy is None:
        return disc
    fraction = recovery.DEFAULT_REDUNDANCY if redundancy == "default" else redundancy
    size = (staging.path / disc).stat().st_size
    if iso:
        # The file system's space covers the recovery region: set before the
        # region is computed, since the region protects these bytes too.
        iso_mod.extend_volume_space(
            staging.path / disc, size + recovery.recovery_overhead(size, fraction)
        )
    progress = phases(f"{which}: recovery data", size)
    if sums is None:
        recovery.protect_file(staging.path / disc, fraction, progress=progress)
        return disc
    with (staging.path / sums.name).open("rb") as side:
        known = sums.reader(side, at)
        recovery.protect_file(staging.path / disc, fraction, progress=progress, known=known)
    staging.remove(sums.name)
    return disc


__all__ = ["finish_disc"]
