"""A compact set of 16-byte digests, each with one flag bit, for checking a
million member names in tens of MiB.

A Python ``dict`` of 16-byte ``bytes`` keys costs about 100 bytes an entry (the
object, its hash slot and the entries array); this open-addressing table keeps
the digests themselves in one ``bytearray``: 16 bytes a slot at a load factor
of at most one half, so 32 to 64 bytes an entry, and no object per entry.
"""

from __future__ import annotations

SLOT = 16
_EMPTY = bytes(SLOT)
_INITIAL = 1 << 10


class DigestSet:
    """Digests (16 bytes; the last bit of the last byte is not part of the key)
    mapped to a flag (that bit). The all-zero digest is never stored."""

    def __init__(self) -> None:
        self._capacity = _INITIAL
        self._slots = bytearray(SLOT * _INITIAL)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def get(self, digest: bytes) -> bool | None:
        """The flag stored with ``digest``, or None if it is not in the set."""
        offset = self._find(_key(digest))
        if offset < 0:
            return None
        return bool(self._slots[offset + SLOT - 1] & 1)

    def add(self, digest: bytes, flag: bool) -> None:
        """Store ``digest`` with ``flag`` (replacing the flag if present)."""
        key = _key(digest)
        offset = self._find(key)
        if offset < 0:
            if 2 * (self._count + 1) > self._capacity:
                self._grow()
            offset = -self._find(key) - 1
            self._count += 1
        self._slots[offset : offset + SLOT] = key[:-1] + bytes([key[-1] | flag])

    def _find(self, key: bytes) -> int:
        """The byte offset of ``key``'s slot, or ``-(offset of a free slot) - 1``."""
        mask = self._capacity - 1
        slots = self._slots
        index = int.from_bytes(key[:8], "little") & mask
        while True:
            offset = index * SLOT
            stored = slots[offset : offset + SLOT]
            if stored == _EMPTY:
                return -offset - 1
            if stored[:-1] == key[:-1] and stored[-1] & 0xFE == key[-1]:
                return offset
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._capacity *= 2
        self._slots = bytearray(SLOT * self._capacity)
        for offset in range(0, len(old), SLOT):
            stored = bytes(old[offset : offset + SLOT])
            if stored != _EMPTY:
                free = -self._find(_key(stored)) - 1
                self._slots[free : free + SLOT] = stored


def _key(digest: bytes) -> bytes:
    """The digest with its flag bit cleared, never all zero (that marks a free slot)."""
    if len(digest) != SLOT:
        raise ValueError("digest must be 16 bytes")
    key = digest[:-1] + bytes([digest[-1] & 0xFE])
    return key if key != _EMPTY else b"\x01" + key[1:]
