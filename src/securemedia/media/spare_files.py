"""Writing the spare volume files of a set, and checking them once they are discs.

The codec is in ``spares.py``; this module streams the data volume files
through it, one stripe at a time, so memory stays flat whatever the disc size.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from ..atomic import StagingDirectory
from ..errors import OperationalError
from ..progress import Progress, ignore
from .header import HEADER_SIZE, VolumeHeader
from .sources import PlainSource
from .spares import encode_stripe, stripe_width
from .volume_set import read_volume_info


def _digest() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=32)


def write_spare_files(
    staging: StagingDirectory,
    data_parts: list[str],
    lengths: list[int],
    spare_parts: list[str],
    headers: list[VolumeHeader],
    finish: Callable[[BinaryIO, VolumeHeader], None] | None = None,
    progress: Progress = ignore,
) -> list[bytes]:
    """Write spare volume files ``spare_parts`` (with ``headers``) into ``staging``.

    ``data_parts`` are the staged data volume files (headers final) and
    ``lengths`` their payload lengths; ``finish``, if given, appends what follows
    each spare's payload (its salvage copy). Returns the BLAKE2b digest of each
    spare's payload, for :func:`check_spare_files`. ``progress`` counts the
    stripe bytes done (``headers[0].stripe_length`` in all).
    """
    if not spare_parts:
        return []
    stripe = headers[0].stripe_length
    width = stripe_width(len(data_parts) + len(spare_parts))
    digests = [_digest() for _ in spare_parts]
    with contextlib.ExitStack() as stack:
        try:
            inputs = [stack.enter_context((staging.path / part).open("rb")) for part in data_parts]
            outputs = [stack.enter_context(staging.create(part)) for part in spare_parts]
            # Read each data payload only: a salvage copy may follow it in the file.
            left = list(lengths)
            for fp in inputs:
                fp.seek(HEADER_SIZE)
            for out, header in zip(outputs, headers, strict=True):
                out.write(header.pack())
            for start in range(0, stripe, width):
                size = min(width, stripe - start)
                # A short data payload (the last volume) reads as zero-padded.
                columns = []
                for i, fp in enumerate(inputs):
                    piece = fp.read(min(size, left[i]))
                    left[i] -= len(piece)
                    columns.append(piece.ljust(size, b"\0"))
                for out, digest, parity in zip(
                    outputs, digests, encode_stripe(columns, len(spare_parts)), strict=True
                ):
                    out.write(parity)
                    digest.update(parity)
                progress(size)
            if finish is not None:
                for out, header in zip(outputs, headers, strict=True):
                    finish(out, header)
        except OSError as exc:
            raise OperationalError(
                f"cannot write the spare volumes in {staging.directory}: {exc.strerror or exc}"
            ) from None
    return [digest.digest() for digest in digests]


def check_spare_files(paths: list[Path], digests: list[bytes], progress: Progress = ignore) -> None:
    """Read each finished spare disc file back and compare its payload with ``digests``.

    Reads the payload where a reader will find it (inside the image, after the
    volume header), so a fault in building the image or adding recovery data
    is caught before the set is kept. :class:`OperationalError` on a mismatch.
    ``progress`` counts the payload bytes read.
    """
    for path, want in zip(paths, digests, strict=True):
        info = read_volume_info(path)
        source = PlainSource(info)
        digest = _digest()
        try:
            length = info.header.payload_length
            step = 1024 * 1024
            for start in range(0, length, step):
                digest.update(source.read_payload(start, min(step, length - start)))
                progress(min(step, length - start))
        finally:
            source.close()
        if digest.digest() != want:
            raise OperationalError(
                f"{info.header.label()} ({path.name}) does not read back as written; "
                "the set was removed: nothing was kept"
            )
