"""The small safe API: pack a dataset into an archive file, unpack one.

For streaming from an export script, use :class:`ArchiveWriter` and
:class:`ArchiveReader` directly (see README); these functions add what a file
on disk needs: inputs named by path, an output that appears only when complete,
and extraction that writes nothing until everything verified.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .archive.compression import Compression
from .archive.extract import ExtractResult, extract
from .archive.reader import ArchiveReader
from .archive.sources import OwnFiles, scan_inputs, write_sources
from .archive.writer import ArchiveSummary, ArchiveWriter
from .arguments import (
    identities_argument,
    recipients_argument,
    require_signer_argument,
    signer_argument,
)
from .atomic import atomic_output
from .errors import OperationalError, UsageError
from .progress import Progress
from .recipients import Identity, Recipient
from .signing_keys import Signer, SignerKey


@contextlib.contextmanager
def create_archive(
    path: Path | str,
    recipients: Sequence[Recipient],
    *,
    signer: Signer | None = None,
    compression: Compression | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Iterator[ArchiveWriter]:
    """An :class:`ArchiveWriter` on a new file that appears at ``path`` only once
    the archive is complete; on an exception nothing is left there.

    ``signer`` is a :class:`~securemedia.Signer`: a key pair
    (:func:`securemedia.load_signing_key`), whose fingerprint readers see (the one
    ``keygen`` printed), or a key that only signs (a token key)."""
    with (
        atomic_output(Path(path), force=force) as sink,
        ArchiveWriter(
            sink, recipients, signer=signer, compression=compression, progress=progress
        ) as writer,
    ):
        yield writer


@contextlib.contextmanager
def open_archive(
    path: Path | str,
    identities: Sequence[Identity],
    *,
    require_signer: Sequence[SignerKey] | None = None,
) -> Iterator[ArchiveReader]:
    """An :class:`ArchiveReader` on an archive file (header, MAC, index and
    signature already checked); the file is closed when the block ends.
    ``require_signer`` lists acceptable signers (:func:`securemedia.load_signers`);
    ``reader.signer`` is the signer's public key, or None if unsigned.

    To read from a pipe, give :class:`ArchiveReader` the stream itself: it holds
    the ciphertext in an anonymous temporary file first (see its docstring)."""
    identities = identities_argument(identities)  # before the file is opened
    require_signer_argument(require_signer)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    with handle, ArchiveReader(handle, identities, require_signer=require_signer) as reader:
        yield reader


def pack(
    inputs: Sequence[Path | str],
    output: Path | str,
    recipients: Sequence[Recipient],
    *,
    signer: Signer | None = None,
    compression: Compression | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ArchiveSummary:
    """Pack files and directories into an archive at ``output``.

    The archive is written under a temporary name and renamed when complete.
    ``recipients`` are loaded keys (:func:`securemedia.load_recipients`), never
    paths: a path raises :class:`TypeError` before the inputs are walked.
    """
    recipients = recipients_argument(recipients)
    signer_argument(signer)
    if isinstance(inputs, str | bytes | os.PathLike):
        raise TypeError("inputs must be a list of paths, not a single path: use [path]")
    paths = [Path(p) for p in inputs]
    if not paths:
        raise UsageError("nothing to pack: give at least one file or directory")
    own = OwnFiles()
    own.add_path(Path(output))
    sources = scan_inputs(paths, exclude=own)  # before anything is written
    started = time.monotonic()
    with create_archive(
        output, recipients, signer=signer, compression=compression, force=force, progress=progress
    ) as writer:
        write_sources(writer, sources, exclude=own)
    summary = writer.summary
    summary.elapsed = time.monotonic() - started
    return summary


def unpack(
    archive: Path | str,
    dest: Path | str,
    identities: Sequence[Identity],
    *,
    members: Sequence[str] | None = None,
    require_signer: Sequence[SignerKey] | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> ExtractResult:
    """Verify and extract ``archive`` into ``dest`` (all members, or ``members``).

    ``identities`` are loaded keys (:func:`securemedia.load_identities`), never paths.
    """
    if isinstance(members, str):
        raise TypeError("members must be a list of member names, not a single str")
    with open_archive(archive, identities, require_signer=require_signer) as reader:
        return extract(reader, Path(dest), select=members, force=force, progress=progress)
