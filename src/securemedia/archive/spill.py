"""Bytes a pack keeps until its end (the index entries, the scan's records),
in memory while they are few and otherwise in an anonymous temporary file, so
that pack's memory does not grow with the member count.

The file is ``tempfile.TemporaryFile`` in TMPDIR: created 0600 and unlinked at
once (``O_TMPFILE`` where the kernel has it), so nothing is left behind
whatever happens to the process. TMPDIR rather than the output's directory:
the output may be standard output or a disc set, and TMPDIR is where the
reader's name table and a piped archive's spool already go (one place to point
at a disk with room). What is spilled names every member (names, sizes,
digests: what the archive encrypts), so it is encrypted too, block by block
with AES-256-GCM under a random key that lives only in this object: the file
reveals nothing but its size, and a block changed on disk is refused.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import OperationalError

HOLD_BYTES = 1 << 20
"""Bytes held in memory before they go to the file, as one encrypted block."""
_LENGTH = struct.Struct(">I")


class Spill:
    """An append-only byte buffer that moves to an encrypted temporary file as
    it grows; :meth:`pieces` gives every byte back, in order, any number of
    times. ``what`` names it in error messages ("the index entries")."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._aead: AESGCM | None = None
        self._blocks = 0
        self._end = 0  # bytes of the file written so far
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def write(self, data: bytes | bytearray) -> None:
        """Append ``data``."""
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= HOLD_BYTES:
            self._spill()

    def pieces(self) -> Iterator[bytes]:
        """Every byte written so far, in order, in pieces of about HOLD_BYTES."""
        offset, block = 0, 0
        end, blocks = self._end, self._blocks
        while block < blocks:
            assert self._file is not None and self._aead is not None
            head = self._read(offset, _LENGTH.size)
            (length,) = _LENGTH.unpack(head)
            sealed = self._read(offset + _LENGTH.size, length)
            try:
                yield self._aead.decrypt(_nonce(block), sealed, None)
            except InvalidTag:
                raise OperationalError(
                    f"the temporary file holding {self._what} (in TMPDIR) was changed "
                    "by someone else while packing: pack again"
                ) from None
            offset += _LENGTH.size + length
            block += 1
        if offset != end:
            raise AssertionError("spill file layout")  # pragma: no cover
        if self._buffer:
            yield bytes(self._buffer)

    def close(self) -> None:
        """Drop what is held (the file goes with its descriptor)."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._buffer = bytearray()

    def _spill(self) -> None:
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="securemedia-spill-")  # noqa: SIM115
                self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
            assert self._aead is not None
            sealed = self._aead.encrypt(_nonce(self._blocks), bytes(self._buffer), None)
            os.pwrite(self._file.fileno(), _LENGTH.pack(len(sealed)) + sealed, self._end)
        except OSError as exc:
            self.close()
            raise OperationalError(
                f"cannot write {self._what} to a temporary file (in TMPDIR): {exc.strerror}; "
                "set TMPDIR to a disk with room"
            ) from None
        self._end += _LENGTH.size + len(sealed)
        self._blocks += 1
        self._buffer = bytearray()

    def _read(self, offset: int, size: int) -> bytes:
        assert self._file is not None
        try:
            data = os.pread(self._file.fileno(), size, offset)
        except OSError as exc:
            raise OperationalError(
                f"cannot read {self._what} back from its temporary file (in TMPDIR): {exc.strerror}"
            ) from None
        if len(data) != size:
            raise OperationalError(
                f"the temporary file holding {self._what} (in TMPDIR) was cut short: pack again"
            )
        return data


def _nonce(block: int) -> bytes:
    return block.to_bytes(12, "big")
