"""Writing an archive: header, then member records streamed through the
encrypted STREAM, then the index, the signature and the trailer.

Memory stays flat whatever the input: data moves through in 1 MiB pieces.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .. import signature
from ..arguments import recipients_argument, signer_argument
from ..envelope import FileKeyIdentity, seal_header_for_writer
from ..errors import FormatError, InputError
from ..finishing import Finishing
from ..header import Header
from ..progress import Progress
from ..recipients import Recipient
from ..signing_keys import Signer
from ..stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE, StreamWriter
from .compression import Compression
from .index import (
    DIRECTORY,
    ENTRY_SEPARATOR,
    FILE,
    INDEX_PREFIX,
    INDEX_SUFFIX,
    Member,
    check_member_meta,
    decode_entries,
    encode_entry,
)
from .member_writer import MemberWriter
from .paths import quoted_name
from .records import INDEX_TAG, encode_meta, encode_trailer
from .spill import Spill
from .writer_names import WriterNames

READ_SIZE = 1 << 20


@dataclass
class ArchiveSummary:
    """What was written: for ``--json`` and for scripts.

    The counts are kept as the members are written; the member list itself is
    decoded from the index entries only when asked for (:attr:`members`), so a
    pack of a million files does not hold a million objects.
    """

    archive_id: str
    files: int = 0
    directories: int = 0
    input_bytes: int = 0
    archive_bytes: int = 0
    signed: bool = False
    signer: str | None = None  # the signer's fingerprint
    signer_kind: str | None = None  # "pq", "x25519" (key pairs), "ed25519", "p256"
    recipients: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    # The index entries, as written (set when the archive is finished).
    _entries: Spill | None = field(default=None, repr=False, compare=False)

    @property
    def members(self) -> list[Member]:
        """Every member written, in archive order (empty until the archive is
        finished). Decoded on each call: keep the result if it is used twice."""
        if self._entries is None:
            return []
        return decode_entries(b"".join(self._entries.pieces()))

    def to_json(self) -> dict[str, object]:
        return {
            "archive_id": self.archive_id,
            "archive_bytes": self.archive_bytes,
            "input_bytes": self.input_bytes,
            "signed": self.signed,
            "signer": self.signer,
            "signer_kind": self.signer_kind,
            "recipients": self.recipients,
            "elapsed_seconds": round(self.elapsed, 3),
            "members": [
                {"path": m.path, "type": m.type, "size": m.size, "blake3": m.blake3 or None}
                for m in self.members
            ],
        }


class ArchiveWriter(Finishing):
    """Streams an encrypted archive into ``sink``.

    ``with ArchiveWriter(out, recipients) as w: w.add_path(Path("export"))`` or
    ``with w.open_member("rows.csv") as f: f.write(...)``. The header goes out at
    once; the index, signature and trailer at ``close()``. On an exception the
    archive is left unfinished (no trailer), which every reader refuses.
    """

    def __init__(
        self,
        sink: BinaryIO,
        recipients: Sequence[Recipient],
        *,
        signer: Signer | None = None,
        compression: Compression | None = None,
        progress: Progress | None = None,
        _file_key: bytes | None = None,
        _payload_nonce: bytes | None = None,
    ) -> None:
        recipients = recipients_argument(recipients)  # a path here is a TypeError, early
        signer_argument(signer)
        self.compression = compression or Compression()
        self._signer = signer
        self._progress = progress
        self.header: Header
        self.header, key, self._own_identity = seal_header_for_writer(
            recipients, _file_key=_file_key, _payload_nonce=_payload_nonce
        )
        self._sink = sink
        sink.write(self.header.raw)
        self._stream = StreamWriter(key, self._sink)
        # The index entries, canonical and comma-joined as they go into the index,
        # spilled (encrypted) to a temporary file as they grow (see _member_done).
        self._entries = Spill("the archive index")
        self._names = WriterNames()
        self._count = 0
        self._open: MemberWriter | None = None
        self._failed = False
        self._closed = False
        self.summary = ArchiveSummary(
            self.header.archive_id, recipients=[r.label for r in recipients]
        )

    # -- members ---------------------------------------------------------------

    def open_member(
        self, name: str, *, mode: int = 0o644, mtime_ns: int | None = None, _scanned: bool = False
    ) -> MemberWriter:
        """A writable stream for a new file member; close it before the next one."""
        meta = self._begin(name, FILE, mode, mtime_ns, _scanned)
        self._open = MemberWriter(self, meta, self._stream.plaintext_bytes - len(encode_meta(meta)))
        return self._open

    def add_directory(
        self, name: str, *, mode: int = 0o755, mtime_ns: int | None = None, _scanned: bool = False
    ) -> None:
        """Add a directory member (no content)."""
        meta = self._begin(name, DIRECTORY, mode, mtime_ns, _scanned)
        record = len(encode_meta(meta))
        self._member_done(
            Member(
                size=0,
                blake3="",
                offset=self._stream.plaintext_bytes - record,
                length=record,
                **meta,
            )
        )

    def add_file(self, path: Path, name: str) -> None:
        """Add one regular file from disk under member name ``name``."""
        self.add_path(path, name)

    def add_path(self, path: Path, name: str | None = None) -> None:
        """Add a file, or a directory and everything below it (sorted, so archives
        of the same tree are laid out the same way). Links are never followed and
        a file swapped after the walk is refused (see :mod:`.sources`)."""
        from .sources import scan_path, write_sources  # sources imports this module

        write_sources(self, scan_path(path, name if name is not None else path.name))

    # -- finishing ---------------------------------------------------------------

    def close(self) -> ArchiveSummary:
        """Write the index, the signature and the trailer, and seal the final chunk."""
        if self._closed:
            return self.summary
        if self._open is not None and not self._open.closed:
            self._open.close()
        if self._failed:
            raise RuntimeError("cannot finish an archive after a member failed")
        index_offset = self._stream.plaintext_bytes
        try:
            self._names.check(self._index_pieces, index_offset)
        except InputError:
            self.abort()
            raise
        self._announce_tail(index_offset)
        index_length, index_digest = self._write_index()
        block = (
            signature.sign_digest(self._signer, self.header.raw, index_digest)
            if self._signer
            else b""
        )
        self._stream.write(block)
        self._stream.write(encode_trailer(index_offset, index_length, len(block)))
        self._stream.close()
        self._sink.flush()
        self._closed = True
        self.summary._entries = self._entries
        self.summary.signed = bool(block)
        if self._signer:
            public = self._signer.public
            self.summary.signer, self.summary.signer_kind = public.fingerprint, public.kind
        self.summary.archive_bytes = len(self.header.raw) + self._stream.ciphertext_bytes
        return self.summary

    def abort(self) -> None:
        """Leave the archive unfinished (no trailer): every reader refuses it."""
        self._failed = True
        self._names.close()
        self._entries.close()

    def _read_back_identity(self) -> FileKeyIdentity:
        """An identity that opens exactly this archive, for reading back what was
        written (``pack --media``). Package-private: it holds the file key."""
        return self._own_identity

    # -- internals ---------------------------------------------------------------

    def _begin(
        self, name: str, kind: str, mode: int, mtime_ns: int | None, scanned: bool
    ) -> dict[str, Any]:
        if self._closed or self._failed:
            raise ValueError("archive is closed")
        if self._open is not None and not self._open.closed:
            raise ValueError("close the previous member before starting another")
        meta: dict[str, Any] = {
            "path": name,
            "type": kind,
            "mode": mode & 0o777,
            "mtime_ns": mtime_ns if mtime_ns is not None else time.time_ns(),
            "compression": self.compression.name if kind == FILE else "none",
        }
        # The reader's own rules, before a byte of the record is written: pack
        # can never produce an archive that its reader refuses.
        self._names.admit(name, kind == DIRECTORY, scanned)
        try:
            check_member_meta(meta)
        except FormatError as exc:
            raise InputError(f"cannot pack {quoted_name(name)}: {_reason(exc)}") from None
        self._names.record(self._count, name, kind == DIRECTORY)  # the member's number
        self._stream.write(encode_meta(meta))
        return meta

    def _member_done(self, member: Member) -> None:
        # Only the entry's canonical bytes are kept (no Member, no dict): the
        # index is streamed from them at close(), byte for byte encode_index's.
        if self._count:
            self._entries.write(ENTRY_SEPARATOR)
        self._entries.write(encode_entry(member))
        self._count += 1
        if member.is_dir:
            self.summary.directories += 1
        else:
            self.summary.files += 1
        self.summary.input_bytes += member.size

    def _announce_tail(self, index_offset: int) -> None:
        """Tell a sink that wants it (a disc set, for its salvage copies) where the
        tail starts: the header length H and the ciphertext offset T of the chunk
        holding the index record's first byte. Optional, so the archive layer
        needs nothing from the media layer."""
        announce = getattr(self._sink, "salvage_layout", None)
        if announce is not None:
            header_length = len(self.header.raw)
            chunk = index_offset // CHUNK_SIZE
            announce(header_length, header_length + chunk * CIPHER_CHUNK_SIZE)

    def _index_pieces(self) -> Iterator[bytes]:
        """The index, from the entries written so far."""
        return itertools.chain([INDEX_PREFIX], self._entries.pieces(), [INDEX_SUFFIX])

    def _write_index(self) -> tuple[int, bytes]:
        """Stream the index (tag, prefix, entries, suffix) into the payload in
        pieces, hashing it as it goes; return its length and SHA-256."""
        digest = hashlib.sha256()
        self._stream.write(INDEX_TAG)
        length = 0
        for piece in self._index_pieces():
            digest.update(piece)
            self._stream.write(piece)
            length += len(piece)
        return length, digest.digest()

    def _progressed(self, n: int) -> None:
        if self._progress is not None:
            self._progress(n)


def _reason(exc: FormatError) -> str:
    """The validator speaks of "archive member ..."; for pack, say what is wrong."""
    return str(exc).removeprefix("archive member ")
