"""``securemedia unpack --salvage``: restore what survives of a damaged set."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import click

from ..archive.reader import ArchiveReader
from ..archive.salvage import salvage
from ..errors import LostDataError
from ..recipients import Identity
from ..signing_keys import SignerKey
from .inputs import open_archive_file, signer_json
from .output import current, emit_json, human_bytes, info


def unpack_salvage(
    archives: tuple[str, ...],
    keys: Sequence[Identity],
    required: Sequence[SignerKey],
    dest: str | None,
    *,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Restore every intact member into ``dest``, list the lost ones, and raise
    LostDataError (exit 4) at the end if any member was lost."""
    started = time.monotonic()
    target = Path(dest or ".")
    with _open(archives) as (source, findings):
        for line in findings:
            # Not silenced by -q: the operator must know the set is incomplete.
            click.echo(f"securemedia: salvage: {line}", err=True)
        with _open_reader(source, keys, required) as reader:
            phases = current().phases()
            result = salvage(
                reader,
                target,
                force=force,
                progress=phases("salvaging", reader.total_size) if phases else None,
                notice=lambda line: click.echo(f"securemedia: {line}", err=True),
                list_members=as_json,
            )
            current().end_progress()
            members = reader.member_count
    if as_json:
        emit_json(
            {
                "archive_id": reader.archive_id,
                "destination": str(target),
                **signer_json(reader.signer),
                "volumes": findings,
                "members": [m.to_json() for m in result.restored],
                "lost": [{"path": m.path, "type": m.type, "size": m.size} for m in result.lost],
                "elapsed_seconds": round(time.monotonic() - started, 3),
            }
        )
    else:
        for m in result.lost:
            click.echo(f"lost: {m.path}", err=True)
        signed = f", signed by {reader.signer.description}" if reader.signer else ""
        info(
            f"salvaged {result.files} file(s), {human_bytes(result.bytes)}, into {target}{signed}",
            quiet=quiet,
        )
    if result.lost:
        raise LostDataError(
            f"{len(result.lost)} of {members} member(s) lost (listed above); "
            f"every other member was restored",
            [],
        )


def _open_reader(
    source: BinaryIO, keys: Sequence[Identity], required: Sequence[SignerKey]
) -> ArchiveReader:
    """The archive reader, as for a normal unpack (header MAC, signed index,
    required signer); a lost header or index is said as such."""
    try:
        return ArchiveReader(source, keys, require_signer=list(required) or None)
    except LostDataError as exc:
        raise LostDataError(
            "nothing can be salvaged: the archive header or index was on the lost "
            f"volume(s) and no salvage copy survives ({exc})",
            exc.ranges,
        ) from None


@contextlib.contextmanager
def _open(archives: tuple[str, ...]) -> Iterator[tuple[BinaryIO, list[str]]]:
    """The archive with holes (a set of volumes) or as it is (one archive file)."""
    from ..media.salvage_view import open_salvage_inputs
    from ..media.volume_set import is_volume_or_image

    name = archives[0]
    if len(archives) > 1 or not Path(name).exists() or is_volume_or_image(Path(name)):
        with open_salvage_inputs(archives) as (stream, report):
            yield stream, report.lines()
        return
    with open_archive_file(name) as handle:
        yield handle, []
