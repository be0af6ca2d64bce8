"""Issue #3, the Python API for export scripts and random access:

* ``ArchiveWriter.open_member()`` is a real binary stream (io.TextIOWrapper,
  csv.writer, io.BufferedWriter, shutil.copyfileobj, pandas.to_csv);
* ``ArchiveReader`` iterates members (also from a real pipe) and opens one as
  a stream;
* reading one member decrypts only the chunks it spans, plus the index chunks
  (counted with ``chunks_decrypted`` and with the file positions actually read);
* ``unpack --member`` restores just the chosen members.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest

from archive_helpers import diff_r, make_tree
from conftest import KeyFiles, RunCli
from securemedia import ArchiveReader, ArchiveWriter, Compression
from securemedia.archive.extract import extract
from securemedia.errors import FormatError, InputError
from securemedia.stream import CHUNK_SIZE, CIPHER_CHUNK_SIZE, payload_plaintext_size


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


# -- writing ------------------------------------------------------------------------


def test_open_member_is_a_binary_stream_for_text_and_csv(tmp_path: Path, key: KeyFiles) -> None:
    sink = io.BytesIO()
    rows = [("id", "navn"), (1, "Ærlig"), (2, 'a "quoted", name'), (3, "Straße")]
    with ArchiveWriter(sink, [key.secret.public.recipient()]) as writer:
        member = writer.open_member("out/rows.csv", mode=0o640, mtime_ns=1_234_567_890)
        assert isinstance(member, io.BufferedIOBase)
        assert member.writable() and not member.readable() and not member.seekable()
        with io.TextIOWrapper(member, encoding="utf-8", newline="") as text:
            csv.writer(text).writerows(rows)
        assert member.closed  # closing the text layer closed the member
        with pytest.raises(ValueError):
            member.write(b"late")
        # A BufferedWriter on top, and copyfileobj into it.
        with io.BufferedWriter(writer.open_member("out/blob.bin"), 1 << 16) as buffered:  # type: ignore[arg-type]
            shutil.copyfileobj(io.BytesIO(b"\x00\x01" * 100_000), buffered)
        # writelines, memoryview and bytearray pieces.
        with writer.open_member("out/lines.txt") as raw:
            raw.writelines([b"one\n", bytearray(b"two\n"), memoryview(b"three\n")])
        writer.add_directory("out/empty", mode=0o700, mtime_ns=5)
    sink.seek(0)
    reader = ArchiveReader(sink, [key.secret.identity()])
    expected_csv = io.StringIO(newline="")
    csv.writer(expected_csv).writerows(rows)
    assert reader.open_member("out/rows.csv").read() == expected_csv.getvalue().encode("utf-8")
    assert reader.open_member("out/blob.bin").read() == b"\x00\x01" * 100_000
    assert reader.open_member("out/lines.txt").read() == b"one\ntwo\nthree\n"
    rows_member = reader.member("out/rows.csv")
    assert (rows_member.mode, rows_member.mtime_ns) == (0o640, 1_234_567_890)
    assert reader.member("out/empty").is_dir and reader.member("out/empty").mode == 0o700
    assert [m.path for m in reader.members] == [
        "out/rows.csv",
        "out/blob.bin",
        "out/lines.txt",
        "out/empty",
    ]


def test_pandas_to_csv_into_a_member(key: KeyFiles) -> None:
    import pandas as pd  # a test dependency: a missing pandas fails, never skips

    frame = pd.DataFrame({"id": range(1000), "town": ["Tromsø", "Bodø"] * 500})
    sink = io.BytesIO()
    with (
        ArchiveWriter(sink, [key.secret.public.recipient()]) as writer,
        io.TextIOWrapper(writer.open_member("frame.csv"), "utf-8", newline="") as text,
    ):
        frame.to_csv(text, index=False)
    sink.seek(0)
    reader = ArchiveReader(sink, [key.secret.identity()])
    assert reader.open_member("frame.csv").read() == frame.to_csv(index=False).encode()


def test_member_written_with_an_error_leaves_an_unreadable_archive(
    tmp_path: Path, key: KeyFiles
) -> None:
    path = tmp_path / "broken.sm"
    with (
        path.open("wb") as sink,
        pytest.raises(RuntimeError, match="cursor died"),
        ArchiveWriter(sink, [key.secret.public.recipient()]) as writer,
        writer.open_member("rows.csv") as member,
    ):
        member.write(b"1,2,3\n" * 1000)
        raise RuntimeError("cursor died")
    with path.open("rb") as source, pytest.raises(FormatError):
        ArchiveReader(source, [key.secret.identity()])


def test_writer_refuses_unsafe_or_duplicate_names(key: KeyFiles) -> None:
    with ArchiveWriter(io.BytesIO(), [key.secret.public.recipient()]) as writer:
        for bad in ["../x", "/etc/passwd", "a/./b", "C:x", "a\\b", "a\x00b", "a\nb", ""]:
            with pytest.raises(InputError):
                writer.open_member(bad)
        writer.add_directory("Data")
        with pytest.raises(InputError, match="duplicate"):
            writer.add_directory("data")
        with writer.open_member("Data/x.txt") as member:
            member.write(b"x")
        with pytest.raises(InputError):
            writer.open_member("Data/x.txt/inside")


def test_memory_members_and_add_path_round_trip_via_the_api(tmp_path: Path, key: KeyFiles) -> None:
    import securemedia

    data = make_tree(tmp_path / "dataset")
    archive = tmp_path / "api.sm"
    with archive.open("wb") as sink:
        writer = ArchiveWriter(
            sink, [key.secret.public.recipient()], compression=Compression(level=5, threads=1)
        )
        with writer:
            writer.add_path(data)
            writer.add_path(data / "run.sh", "loose/run.sh")
        summary = writer.summary
    assert summary.archive_bytes == archive.stat().st_size
    assert {m.path for m in summary.members} >= {"dataset/sub/a.csv", "loose/run.sh"}
    securemedia.unpack(archive, tmp_path / "out", [key.secret.identity()])
    diff_r(data, tmp_path / "out" / "dataset")
    assert (tmp_path / "out" / "loose" / "run.sh").read_bytes() == (data / "run.sh").read_bytes()


# -- reading ------------------------------------------------------------------------


def _three_member_archive(path: Path, key: KeyFiles) -> dict[str, bytes]:
    """About 10 MiB, stored: two 5 MiB members around a small one."""
    contents = {
        "data/first.bin": os.urandom(5 * CHUNK_SIZE + 12345),
        "data/small.txt": b"the member in the middle\n" * 400,
        "data/last.bin": os.urandom(5 * CHUNK_SIZE - 999),
    }
    with (
        path.open("wb") as sink,
        ArchiveWriter(
            sink, [key.secret.public.recipient()], compression=Compression(enabled=False)
        ) as writer,
    ):
        writer.add_directory("data")
        for name, content in contents.items():
            with writer.open_member(name) as member:
                member.write(content)
    return contents


def test_walk_iterates_members_as_streams_also_from_a_pipe(tmp_path: Path, key: KeyFiles) -> None:
    archive = tmp_path / "three.sm"
    contents = _three_member_archive(archive, key)
    # A real pipe: `cat archive |`; the reader holds the ciphertext in an
    # anonymous temporary file, so the index is read (and checked) first.
    with subprocess.Popen(["cat", str(archive)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        reader = ArchiveReader(cat.stdout, [key.secret.identity()])
        assert reader.seekable
        assert reader.member_count == 1 + len(contents)
        seen = {}
        for entry in reader.walk():
            if entry.data is None:
                seen[entry.path] = None
                continue
            digest = hashlib.sha256()
            while piece := entry.data.read(100_000):
                digest.update(piece)
            seen[entry.path] = digest.hexdigest()
    assert seen == {"data": None} | {n: hashlib.sha256(c).hexdigest() for n, c in contents.items()}
    assert [m.path for m in reader.members] == ["data", *contents]
    reader.close()


def test_walk_may_skip_members_and_still_verifies(tmp_path: Path, key: KeyFiles) -> None:
    archive = tmp_path / "three.sm"
    contents = _three_member_archive(archive, key)
    with archive.open("rb") as source:
        reader = ArchiveReader(source, [key.secret.identity()])
        got = {}
        for entry in reader.walk():
            if entry.path == "data/small.txt":
                assert entry.data is not None
                got[entry.path] = entry.data.read()
    assert got == {"data/small.txt": contents["data/small.txt"]}


class RecordingFile(io.RawIOBase):
    """A real file whose reads are recorded as (position, length) pairs."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path.open("rb", buffering=0)
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        position = self._file.tell()
        n = self._file.readinto(buffer)
        if n:
            self.reads.append((position, n))
        return n or 0

    def close(self) -> None:
        self._file.close()
        super().close()


def _chunks_read(reads: list[tuple[int, int]], header: int) -> set[int]:
    found: set[int] = set()
    for position, length in reads:
        if position + length <= header:
            continue
        start = max(position, header) - header
        found.update(
            range(start // CIPHER_CHUNK_SIZE, (start + length - 1) // CIPHER_CHUNK_SIZE + 1)
        )
    return found


def _span(offset: int, length: int) -> set[int]:
    return set(range(offset // CHUNK_SIZE, (offset + length - 1) // CHUNK_SIZE + 1))


def test_one_member_decrypts_only_its_own_chunks(tmp_path: Path, key: KeyFiles) -> None:
    archive = tmp_path / "three.sm"
    contents = _three_member_archive(archive, key)
    total_chunks = -(-payload_plaintext_size(archive.stat().st_size) // CHUNK_SIZE)
    assert total_chunks >= 10

    source = RecordingFile(archive)
    reader = ArchiveReader(source, [key.secret.identity()])  # type: ignore[arg-type]
    header = len(reader.header.raw)
    payload = payload_plaintext_size(archive.stat().st_size - header)
    last = reader.members[-1]
    index_chunks = _span(last.offset + last.length, payload - (last.offset + last.length))
    assert reader.chunks_decrypted == len(index_chunks) <= 2
    assert _chunks_read(source.reads, header) == index_chunks

    small = reader.member("data/small.txt")
    member_chunks = _span(small.offset, small.length)
    assert not member_chunks & index_chunks  # really in the middle
    source.reads.clear()
    before = reader.chunks_decrypted
    assert reader.open_member("data/small.txt").read() == contents["data/small.txt"]
    assert reader.chunks_decrypted - before == len(member_chunks) <= 3
    assert _chunks_read(source.reads, header) == member_chunks

    # A 5 MiB member spans exactly its own 6 chunks, not one more.
    first = reader.member("data/first.bin")
    source.reads.clear()
    before = reader.chunks_decrypted
    assert reader.open_member("data/first.bin").read() == contents["data/first.bin"]
    assert reader.chunks_decrypted - before == len(_span(first.offset, first.length)) == 6
    assert _chunks_read(source.reads, header) == _span(first.offset, first.length)
    source.close()


def test_extracting_selected_members_decrypts_only_their_chunks(
    tmp_path: Path, key: KeyFiles
) -> None:
    archive = tmp_path / "three.sm"
    contents = _three_member_archive(archive, key)
    with archive.open("rb") as handle:
        reader = ArchiveReader(handle, [key.secret.identity()])
        opened = reader.chunks_decrypted
        small = reader.member("data/small.txt")
        extract(reader, tmp_path / "out", select=["data/small.txt"])
        assert reader.chunks_decrypted - opened == len(_span(small.offset, small.length))
    assert (tmp_path / "out" / "data" / "small.txt").read_bytes() == contents["data/small.txt"]
    assert os.listdir(tmp_path / "out") == ["data"]
    assert os.listdir(tmp_path / "out" / "data") == ["small.txt"]


def test_cli_member_is_repeatable_and_stdout_writes_one(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    archive = tmp_path / "three.sm"
    contents = _three_member_archive(archive, key)
    result = run_cli(
        "unpack",
        archive,
        "-i",
        key.path,
        "-o",
        tmp_path / "out",
        "--member",
        "data/small.txt",
        "--member",
        "data/last.bin",
        "-q",
    )
    assert result.code == 0, result.stderr
    got = {
        p.relative_to(tmp_path / "out").as_posix(): p.read_bytes()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    }
    assert got == {k: v for k, v in contents.items() if k != "data/first.bin"}

    single = run_cli("unpack", archive, "-i", key.path, "--stdout", "--member", "data/small.txt")
    assert single.code == 0, single.stderr
    assert single.stdout == contents["data/small.txt"]
    # Without --member, an archive of several files needs a choice.
    ambiguous = run_cli("unpack", archive, "-i", key.path, "--stdout")
    assert ambiguous.code == 2 and "--member" in ambiguous.stderr
    missing = run_cli("unpack", archive, "-i", key.path, "-o", "x", "--member", "data/nope")
    assert missing.code == 2 and "data/nope" in missing.stderr
    assert not (tmp_path / "x").exists()


def test_stdout_from_a_pipe_and_to_a_pipe(tmp_path: Path, run_cli: RunCli, key: KeyFiles) -> None:
    payload = os.urandom(3 * CHUNK_SIZE + 7)
    packed = run_cli("pack", "-", "-o", "-", "-r", key.pub_path, "-q", stdin=payload)
    assert packed.code == 0, packed.stderr
    assert packed.stdout[:4] != payload[:4] and payload[:64] not in packed.stdout
    unpacked = run_cli("unpack", "-", "-i", key.path, "--stdout", stdin=packed.stdout)
    assert unpacked.code == 0, unpacked.stderr
    assert unpacked.stdout == payload
    # The same archive from a file, as --json on stderr: the member's digest.
    (tmp_path / "piped.sm").write_bytes(packed.stdout)
    again = run_cli("unpack", "piped.sm", "-i", key.path, "--stdout", "--json")
    assert again.code == 0, again.stderr
    assert again.stdout == payload
    doc = json.loads(again.stderr)
    assert doc["members"][0]["path"] == "stdin"
    assert doc["members"][0]["blake3"] == blake3.blake3(payload).hexdigest()
