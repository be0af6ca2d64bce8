"""``securemedia plan``: how many discs a dataset needs, before anything is written."""

from __future__ import annotations

from pathlib import Path

import click

from ..media.plan import estimate_archive, plan_discs, resolve_redundancy, volume_capacity
from ..media.sizes import parse_medium
from .media_options import MEDIA_KINDS, REDUNDANCY, SPARE_DISCS
from .output import emit_json, output_options


@click.command("plan")
@click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="INPUT..."
)
@click.option(
    "--media",
    "media",
    required=True,
    metavar="KIND",
    help=f"The medium: {MEDIA_KINDS}",
)
@click.option("--iso", is_flag=True, help="Plan ISO images (as pack --iso writes).")
@click.option(
    "--redundancy",
    metavar="PCT",
    help=REDUNDANCY[0].upper() + REDUNDANCY[1:],
)
@click.option(
    "--spare-discs",
    type=click.IntRange(0, 255),
    default=0,
    metavar="N",
    help=SPARE_DISCS,
)
@click.option("--no-compress", is_flag=True, help="Plan for an uncompressed archive.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="The archive name pack will be given (it appears on each disc).",
)
@output_options
def plan(
    inputs: tuple[Path, ...],
    media: str,
    iso: bool,
    redundancy: str | None,
    spare_discs: int,
    no_compress: bool,
    output: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Show how many discs INPUT... needs and how full each one is.

    The archive size is estimated by compressing a sample with zstd level 3
    (exact content size with --no-compress); nothing is written.
    """
    medium = parse_medium(media)
    fraction = resolve_redundancy(redundancy)
    base_name = output.name if output is not None else "x" * 60
    estimate = estimate_archive(list(inputs), compress=not no_compress)
    capacity = volume_capacity(medium, iso=iso, redundancy=fraction, base_name=base_name)
    discs = plan_discs(
        estimate.archive_bytes,
        medium,
        iso=iso,
        redundancy=fraction,
        base_name=base_name,
        spares=spare_discs,
        salvage_reserve=estimate.salvage_reserve,
    )
    data_discs = len(discs) - spare_discs
    if as_json:
        document = {
            "media": {"name": medium.name, "bytes": medium.capacity},
            "iso": iso,
            "redundancy": fraction,
            "compress": not no_compress,
            "estimate": estimate.to_json(),
            "volume_capacity": capacity,
            "spare_discs": spare_discs,
            "discs": [
                {
                    "number": d.number,
                    "payload_bytes": d.payload_bytes,
                    "volume_bytes": d.volume_bytes,
                    "disc_bytes": d.disc_bytes,
                    "fill": round(d.fill, 6),
                    "spare": d.spare,
                }
                for d in discs
            ],
        }
        emit_json(document)
        return
    kind = "ISO images" if iso else "volume files"
    recovery = f"{fraction:.0%} recovery data" if fraction else "no recovery data"
    click.echo(f"inputs:   {estimate.files:,} file(s), {estimate.content_bytes:,} bytes")
    if no_compress:
        click.echo(f"archive:  about {estimate.archive_bytes:,} bytes (not compressed)")
    elif estimate.overhead_exceeds_input:
        click.echo(
            f"archive:  about {estimate.archive_bytes:,} bytes (estimated: the archive's "
            "fixed overhead exceeds the input)"
        )
    else:
        sample = (
            "all of it"
            if estimate.sampled_bytes == estimate.content_bytes
            else f"a {estimate.sampled_bytes:,}-byte sample"
        )
        click.echo(
            f"archive:  about {estimate.archive_bytes:,} bytes (estimated: zstd level 3 "
            f"compresses {sample} to {estimate.ratio:.1%})"
        )
    click.echo(f"medium:   {medium.name}, {medium.capacity:,} bytes; {kind}, {recovery}")
    click.echo(f"volume:   up to {capacity:,} bytes each")
    if spare_discs:
        click.echo(
            f"discs:    {len(discs)}: {data_discs} data + {spare_discs} spare "
            f"(any {spare_discs} may be lost)"
        )
    else:
        click.echo(f"discs:    {len(discs)}")
    for d in discs:
        kind = "spare disc" if d.spare else "disc"
        click.echo(f"  {kind} {d.number}: {d.disc_bytes:,} bytes, {d.fill:.1%} full")
