"""Round-2 attack: the trailer's signature length is capped before it is read.

Anyone who can decrypt (the sender, or a recipient who re-encrypts) writes the
trailer. A signature_length of megabytes, with that many authentic bytes
before the trailer, used to be decrypted and joined in memory before the
block's length was checked; a u32 allows 4 GiB.
"""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest

from securemedia.archive.reader import ArchiveReader
from securemedia.archive.records import INDEX_TAG, encode_trailer
from securemedia.envelope import seal_header
from securemedia.errors import FormatError
from securemedia.keys import SecretKey
from securemedia.stream import StreamWriter

JUNK = 6 << 20  # six chunks of "signature"


class CountingSource(io.BytesIO):
    """A seekable archive that counts the bytes the reader takes from it."""

    taken = 0

    def read(self, n: int | None = -1, /) -> bytes:
        data = super().read(n)
        self.taken += len(data)
        return data


def _archive_with_signature_length(key: SecretKey, length: int) -> bytes:
    header, file_key = seal_header([key.public.recipient()])
    sink = io.BytesIO()
    sink.write(header.raw)
    stream = StreamWriter(file_key, sink)
    index = json.dumps({"version": 1, "members": []}, separators=(",", ":")).encode()
    stream.write(INDEX_TAG + index)
    for _ in range(length >> 20):
        stream.write(bytes(1 << 20))
    stream.write(encode_trailer(0, len(index), length))
    stream.close()
    return sink.getvalue()


def test_an_oversized_signature_block_is_refused_before_it_is_read() -> None:
    key = SecretKey.generate(classic=True)
    source = CountingSource(_archive_with_signature_length(key, JUNK))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="signature block is malformed"):
            ArchiveReader(source, [key.identity()])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Never joined in memory: a chunk or two at a time. The reader does read the
    # whole payload once before it says so, to authenticate it (FORMAT.md 15.1).
    assert peak < 4 << 20
    assert source.taken >= JUNK
