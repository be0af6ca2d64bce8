"""Reading an archive: open the header, then the trailer and the index from
the last chunks (authenticated, signature checked), then either

* one member, decrypting only the chunks its record spans; or
* a walk over every record in order, each checked against its index entry.

A pipe is spooled first (ciphertext only, see :class:`ArchiveReader`), so both
work on any input. Every chunk is authenticated before its bytes are parsed; a
member never yields more than its declared size, and its content is checked
against its size and BLAKE3 digest from the index when it ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import signature
from ..arguments import identities_argument, require_signer_argument
from ..envelope import open_header
from ..errors import (
    FormatError,
    IntegrityError,
    LostDataError,
    NoIdentityError,
    UsageError,
    WrongSecretKindError,
)
from ..header import Header, StanzaType, read_header
from ..progress import Progress, counted
from ..recipients import Identity
from ..recipients.passphrase import PassphraseIdentity
from ..signing_keys import SignerKey
from ..stream import CHUNK_SIZE, SequentialSource, StreamReader, chunk_count
from .index import FILE, Member, check_member_meta
from .index_stream import iter_index
from .member_data import READ_SIZE, MemberReader, Pieces, is_structural
from .name_check import NameCheck
from .records import (
    INDEX_TAG,
    MEMBER_TAG,
    TRAILER,
    FrameReader,
    decode_trailer,
    read_meta,
)
from .spool import spool_ciphertext

# MemberReader and READ_SIZE live in member_data; extraction imports them from here.
__all__ = [
    "READ_SIZE",
    "ArchiveReader",
    "MemberReader",
    "WalkEntry",
    "check_secret_kind",
    "is_passphrase_only",
    "spool_ciphertext",
]


@dataclass
class WalkEntry:
    """One member met in a walk; ``data`` is None for a directory. ``member`` is
    its (checked) index entry, whose ``size`` bounds ``data``."""

    meta: dict[str, Any]
    data: MemberReader | None
    member: Member

    @property
    def path(self) -> str:
        return str(self.meta["path"])


class ArchiveReader:
    """Opens an archive for ``identities``: reads the header, finds the file
    key, then reads and authenticates the index before anything else.

    The index is hashed piece by piece and the signature (and ``require_signer``)
    checked before its JSON is parsed; then one pass checks every entry (fields,
    unique names, records tiling the payload) keeping only counts. Members are
    parsed again, one at a time, whenever they are iterated, so memory does not
    grow with the member count.

    ``header``: the header, if the caller already read it with
    :func:`~securemedia.header.read_header` (``source`` then stands just after
    it); otherwise it is read here.

    A source that cannot seek (a pipe) is first **spooled**: after its header
    opened with one of ``identities``, its ciphertext (never any plaintext) is
    copied into an anonymous temporary file (``tempfile.TemporaryFile`` in
    ``TMPDIR``, unlinked at once, mode 0600) and read from there. So no
    plaintext is released before the index and the signer are verified, and
    every member is bounded by its declared size, on any input. Running out of
    space there is an :class:`OperationalError`. Call :meth:`close` (or use the
    reader as a context manager) to free the spool early.
    """

    def __init__(
        self,
        source: BinaryIO,
        identities: Sequence[Identity],
        *,
        require_signer: Sequence[SignerKey] | None = None,
        header: Header | None = None,
    ) -> None:
        identities = identities_argument(identities)  # a path here is a TypeError, early
        self._require = require_signer_argument(require_signer)
        # A caller that read the header itself (to look at it before choosing
        # the identities) passes it with ``source`` just after it: a pipe
        # cannot be read twice.
        self.header: Header = read_header(source) if header is None else header
        try:
            key = open_header(self.header, identities)
        except NoIdentityError:
            _wrong_kind_of_secret(self.header, identities)
            raise
        self._spool: BinaryIO | None = None
        if _seekable(source):
            start = source.tell()  # the payload follows the header, wherever it began
        else:
            source = self._spool = spool_ciphertext(source)
            start = 0
        self._source = source
        self._start = start
        size = source.seek(0, io.SEEK_END) - start
        source.seek(start)
        self._stream = StreamReader(key, source, start=start, size=size)
        self.signer: SignerKey | None = None  # the whole public key: see signature.py
        self.member_count = 0
        self.total_size = 0
        self._members: list[Member] | None = None
        # One decrypted chunk kept for member reads, another for index passes,
        # so that reading members while iterating the index does not thrash.
        self._cache: list[tuple[int, bytes]] = []
        self._index_cache: list[tuple[int, bytes]] = []
        self._index_offset = 0
        self._index_length = 0
        self._index_digest = b""
        try:
            try:
                self._load_index()
            except FormatError as exc:
                if is_structural(exc):
                    self._authenticate_all()  # an authentication failure outranks it
                raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Free the spool file, if any (the caller's source stays open)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def archive_id(self) -> str:
        return self.header.archive_id

    @property
    def payload_size(self) -> int:
        """Bytes of decrypted payload (what :meth:`verify` reports progress in)."""
        return self._stream.plaintext_size

    @property
    def chunks_decrypted(self) -> int:
        """How many payload chunks were decrypted so far (for tests and stats)."""
        return self._stream.chunks_decrypted

    @property
    def seekable(self) -> bool:
        """Always True: a pipe is spooled, so every reader has random access."""
        return True

    @property
    def members(self) -> list[Member]:
        """Every member as a list (kept for API compatibility: it holds the whole
        index in memory; commands use :meth:`iter_members`)."""
        if self._members is None:
            self._members = list(self.iter_members())
        return self._members

    def iter_members(self) -> Iterator[Member]:
        """The index's members in payload order, parsed one at a time.

        Each pass re-reads the authenticated index and, when it ends, checks that
        the bytes are those whose signature was verified (IntegrityError if the
        file changed meanwhile).
        """
        digest = hashlib.sha256()

        def pieces() -> Iterator[bytes]:
            start, length = self._index_offset + 1, self._index_length
            for piece in self._range(start, length, self._index_cache):
                digest.update(piece)
                yield piece

        yield from iter_index(pieces(), self._index_offset)
        if not hmac.compare_digest(digest.digest(), self._index_digest):
            raise IntegrityError()

    def member(self, path: str) -> Member:
        """The index entry named ``path`` (a scan of the index)."""
        found: Member | None = None
        for m in self.iter_members():  # to the end: the pass checks the index digest
            if found is None and m.path == path:
                found = m
        if found is None:
            raise UsageError(f"no member {path!r} in this archive")
        return found

    def open_member(self, member: str | Member) -> MemberReader:
        """Read one file member (by name, or an entry from :meth:`iter_members`),
        decrypting only the chunks its record spans."""
        if isinstance(member, str):
            member = self.member(member)
        if member.type != FILE:
            raise UsageError(f"member {member.path!r} is a directory")
        source = Pieces(self._range(member.offset, member.length))
        meta = _read_record_meta(source)
        if meta != member.meta():
            raise FormatError("archive member record does not match the index")
        reader = MemberReader(FrameReader(source), meta, member)
        reader.after_end = lambda: _check_record_end(source)
        return reader

    def walk(self, progress: Progress | None = None) -> Iterator[WalkEntry]:
        """Every member in payload order, each record checked against its index
        entry as it is met and each file bounded by its declared size. When the
        loop ends, every chunk and every member's digest have been checked (the
        index and the signature were checked when the reader opened).
        ``progress`` counts the payload bytes decrypted (:attr:`payload_size`)."""
        count = chunk_count(self._stream.size_known())
        after = [0]  # the next chunk to decrypt

        def decrypt() -> Iterator[bytes]:
            while after[0] < count:
                after[0] += 1
                yield self._stream.chunk(after[0] - 1)

        chunks = counted(decrypt(), progress)

        def authenticate_rest() -> None:
            # A structural fault found on the way is reported only once every
            # later chunk has authenticated too (FORMAT.md 15.1). Chunk by chunk,
            # as at open: a salvage's hole proves nothing, and the chunks after
            # it are still checked (a generator that met the hole is finished).
            start, after[0] = after[0], count
            self._authenticate_all(start)

        try:
            yield from self._walk(Pieces(chunks), authenticate_rest)
        except FormatError as exc:
            if is_structural(exc):
                authenticate_rest()
            raise

    def _walk(self, source: Pieces, authenticate_rest: Callable[[], None]) -> Iterator[WalkEntry]:
        entries = self.iter_members()
        while True:
            offset = source.consumed
            tag = source.read(1)
            if tag == INDEX_TAG and offset == self._index_offset:
                break
            if tag != MEMBER_TAG:
                raise FormatError("archive payload has a malformed record")
            meta = _read_meta_checked(source)
            member = next(entries, None)
            if member is None or member.meta() != meta or member.offset != offset:
                raise FormatError("archive index does not match its records")
            data = MemberReader(FrameReader(source), meta, member) if member.type == FILE else None
            if data is not None:
                data.before_fault = authenticate_rest  # a fault met by the caller's reads
            yield WalkEntry(meta, data, member)
            if data is not None:
                data.drain()
            if source.consumed - offset != member.length:
                raise FormatError("archive index does not match its records")
        if next(entries, None) is not None:
            raise FormatError("archive index does not match its records")

    def verify(self, progress: Progress | None = None) -> None:
        """Authenticate the whole archive, writing nothing; ``progress`` as for :meth:`walk`."""
        for _ in self.walk(progress):
            pass

    # -- the index -------------------------------------------------------------

    def _load_index(self) -> None:
        size = self._stream.plaintext_size
        cache = self._index_cache
        if size < TRAILER.size:
            self._chunk(0)  # authentication comes first: a truncated archive is not "short"
            raise FormatError("archive payload is too short to hold its trailer")
        trailer = b"".join(self._range(size - TRAILER.size, TRAILER.size, cache))
        index_offset, index_len, sig_len = decode_trailer(trailer, size)
        if sig_len and sig_len not in signature.BLOCK_SIZES:
            # Capped before a byte of it is read: the u32 allows 4 GiB.
            raise FormatError("archive signature block is malformed")
        if b"".join(self._range(index_offset, 1, cache)) != INDEX_TAG:
            raise FormatError("archive payload has no index record")
        self._index_offset, self._index_length = index_offset, index_len
        # Hash first and check the signature, before a byte of the JSON is parsed.
        digest = hashlib.sha256()
        for piece in self._range(index_offset + 1, index_len, cache):
            digest.update(piece)
        self._index_digest = digest.digest()
        block = b"".join(self._range(index_offset + 1 + index_len, sig_len, cache))
        self.signer = signature.verify_digest(
            block, self.header.raw, self._index_digest, self._require
        )
        # One checking pass that keeps counts only; the unique-name rules are
        # checked on partitioned name digests that spill to disk when large.
        names = NameCheck()
        try:
            for number, m in enumerate(self.iter_members()):
                names.add(number, m.path, m.is_dir)
                self.member_count += 1
                self.total_size += m.size
            names.finish(self._name_of)
        finally:
            names.close()

    def _name_of(self, number: int) -> str:
        """The name of member ``number`` (for messages: a scan of the index)."""
        found = ""
        for i, m in enumerate(self.iter_members()):
            if i == number:
                found = m.path
        return found

    def _authenticate_all(self, start: int = 0) -> None:
        """Decrypt every chunk from ``start`` on, keeping nothing: IntegrityError if one fails."""
        for index in range(start, chunk_count(self._stream.size_known())):
            with contextlib.suppress(LostDataError):  # a salvage's hole proves nothing
                self._stream.chunk(index)

    def _chunk(self, index: int, cache: list[tuple[int, bytes]] | None = None) -> bytes:
        cache = self._cache if cache is None else cache
        if cache and cache[0][0] == index:
            return cache[0][1]
        data = self._stream.chunk(index)
        cache[:] = [(index, data)]
        return data

    def _range(
        self, offset: int, length: int, cache: list[tuple[int, bytes]] | None = None
    ) -> Iterator[bytes]:
        """Authenticated plaintext bytes [offset, offset + length)."""
        end = offset + length
        while offset < end:
            index, start = divmod(offset, CHUNK_SIZE)
            chunk = self._chunk(index, cache)
            piece = chunk[start : start + (end - offset)]
            if not piece:
                raise IntegrityError()
            yield piece
            offset += len(piece)


def is_passphrase_only(header: Header) -> bool:
    """True if ``header`` is opened only by a passphrase (every stanza is
    Argon2id). Public: the stanza types are in the clear, ``inspect`` shows them."""
    return {s.type for s in header.stanzas} == {StanzaType.ARGON2ID}


def _wrong_kind_of_secret(header: Header, identities: Sequence[Identity]) -> None:
    """Raise WrongSecretKindError if no identity could open ``header`` because of
    its kind (see :func:`check_secret_kind`)."""
    passphrases = [isinstance(i, PassphraseIdentity) for i in identities]
    check_secret_kind(header, passphrase=any(passphrases), keys=not all(passphrases))


def check_secret_kind(header: Header, *, passphrase: bool, keys: bool) -> None:
    """Raise WrongSecretKindError if secrets of the kinds given (a passphrase,
    keys) cannot open ``header`` whatever their values: the stanza types are
    public (``inspect`` shows them), so saying so leaks nothing and tells the
    user what to give instead. The CLI calls it before unlocking a key file or
    asking for a passphrase that could not help."""
    if is_passphrase_only(header) and not passphrase:
        raise WrongSecretKindError(
            "this archive is encrypted to a passphrase, not to a key",
            "open it with the passphrase",
            needs="passphrase",
        )
    keys_only = all(s.type != StanzaType.ARGON2ID for s in header.stanzas)
    if keys_only and passphrase and not keys:
        raise WrongSecretKindError(
            "this archive is encrypted to keys, not to a passphrase",
            "open it with a recipient's private key",
            needs="key",
        )


def _check_record_end(source: SequentialSource) -> None:
    """The record must end exactly where the index says: as the walk does, refuse
    bytes after the zero frame."""
    if source.read(1):
        raise FormatError("archive member record has bytes after its end")


def _read_record_meta(source: SequentialSource) -> dict[str, Any]:
    if source.read(1) != MEMBER_TAG:
        raise FormatError("archive payload has a malformed record")
    return _read_meta_checked(source)


def _read_meta_checked(source: SequentialSource) -> dict[str, Any]:
    meta = read_meta(source)  # canonical, so exactly what a writer could have written
    check_member_meta(meta)
    return meta


def _seekable(source: BinaryIO) -> bool:
    try:
        return source.seekable()
    except (AttributeError, OSError, ValueError):
        return False
