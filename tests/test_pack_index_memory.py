"""The writer keeps only each member's encoded index entry and streams the index
at close() (memory per member: the entry's bytes, not a Member, a dict and a str
for the whole document). The archive must not change by a byte: the streamed
index is encode_index's, and its signature covers exactly what was streamed.
The memory itself is measured by ``benchmarks/memory.py --members``.
"""

from __future__ import annotations

import io

from securemedia import ArchiveReader, ArchiveWriter
from securemedia.archive.index import (
    ENTRY_SEPARATOR,
    INDEX_PREFIX,
    INDEX_SUFFIX,
    Member,
    decode_entries,
    encode_entry,
    encode_index,
)
from securemedia.keys import SecretKey


def _member(i: int, name: str) -> Member:
    return Member(name, "file", i, 0o644, -(10**18) + i, "zstd", "ab" * 32, i * 7, 33)


def test_index_from_entries_is_encode_index_byte_for_byte() -> None:
    names = ["a", "dir/Ærlig ø", "日本/データ.csv", 'q"uote\\d', "tab\tand\x7f"]
    for count in range(len(names) + 1):
        members = [_member(i, n) for i, n in enumerate(names[:count])]
        body = ENTRY_SEPARATOR.join(encode_entry(m) for m in members)
        assert INDEX_PREFIX + body + INDEX_SUFFIX == encode_index(members)
        assert decode_entries(body) == members


def test_streamed_signed_index_reads_back_and_summary_counts(
    classic_key: SecretKey,
) -> None:
    # Long names and thousands of members: the index is streamed in several pieces.
    signer = SecretKey.generate(classic=True)
    sink = io.BytesIO()
    long = "x" * 150
    with ArchiveWriter(sink, [classic_key.public.recipient()], signer=signer) as writer:
        writer.add_directory("top", mtime_ns=5)
        for i in range(4000):
            writer.add_directory(f"top/{long}{i:05d}", mtime_ns=i)
        with writer.open_member("top/Ærlig.csv", mtime_ns=7) as out:
            out.write(b"id,navn\n1,\xc3\x86\n")
        with writer.open_member("top/empty", mtime_ns=8):
            pass
    summary = writer.summary
    assert (summary.files, summary.directories, summary.input_bytes) == (2, 4001, 13)
    public = signer.public
    sink.seek(0)
    reader = ArchiveReader(sink, [classic_key.identity()], require_signer=[public])
    read_back = list(reader.iter_members())
    assert summary.members == read_back
    assert len(read_back) == 4003 and read_back[-2].path == "top/Ærlig.csv"
    with reader.open_member("top/Ærlig.csv") as content:
        assert content.read() == b"id,navn\n1,\xc3\x86\n"
    listed = summary.to_json()["members"]
    assert isinstance(listed, list) and len(listed) == 4003


def test_empty_archive_summary() -> None:
    key = SecretKey.generate(classic=True)
    sink = io.BytesIO()
    with ArchiveWriter(sink, [key.public.recipient()]) as writer:
        pass
    assert writer.summary.members == [] and writer.summary.files == 0
    sink.seek(0)
    assert list(ArchiveReader(sink, [key.identity()]).iter_members()) == []
