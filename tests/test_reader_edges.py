"""The archive reader at its edges (issue 9): declared sizes bound every member
(decompression bombs), pipes release nothing before the index and the signer
are verified, empty reads, memory that does not grow with the member count,
times before 1970 and out of range, one validator for writer and reader, and
the canonical index.

Hostile archives here are correctly encrypted (anyone holding the recipient's
public key can make one); they are built from the library's low-level pieces.
"""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest
import zstandard

from conftest import KeyFiles, RunCli
from securemedia import api
from securemedia.archive.compression import FRAME_CONTENT
from securemedia.archive.reader import ArchiveReader, MemberReader
from securemedia.archive.records import INDEX_TAG, MAX_FRAME, U32, encode_meta, encode_trailer
from securemedia.archive.writer import ArchiveWriter
from securemedia.envelope import seal_header
from securemedia.errors import FormatError, InputError, IntegrityError
from securemedia.recipients import Recipient
from securemedia.stream import StreamWriter


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


@dataclass
class Raw:
    """One file member of a raw archive: what its record stores, and what its
    index entry declares."""

    path: str
    content: bytes
    compress: bool = False
    declared_size: int | None = None
    mtime_ns: int = 0
    mode: int = 0o644


def raw_archive(
    recipients: Sequence[Recipient],
    members: Sequence[Raw],
    *,
    index_hook: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """A correctly encrypted archive of ``members``, with the index the writer
    would write unless ``declared_size`` lies or ``index_hook`` rewrites it."""
    sink = io.BytesIO()
    header, key = seal_header(recipients)
    sink.write(header.raw)
    stream = StreamWriter(key, sink)
    offset = 0
    entries = []
    for m in members:
        meta = {
            "path": m.path,
            "type": "file",
            "mode": m.mode,
            "mtime_ns": m.mtime_ns,
            "compression": "zstd" if m.compress else "none",
        }
        record = bytearray(encode_meta(meta))
        stored = _zstd_frames(m.content) if m.compress else m.content
        for start in range(0, len(stored), MAX_FRAME):
            frame = stored[start : start + MAX_FRAME]
            record += U32.pack(len(frame)) + frame
        record += U32.pack(0)
        stream.write(bytes(record))
        entries.append(
            {
                "path": m.path,
                "type": "file",
                "size": len(m.content) if m.declared_size is None else m.declared_size,
                "mode": m.mode,
                "mtime_ns": m.mtime_ns,
                "compression": meta["compression"],
                "blake3": blake3.blake3(m.content).hexdigest(),
                "offset": offset,
                "length": len(record),
            }
        )
        offset += len(record)
    index = json.dumps(
        {"version": 1, "members": entries}, ensure_ascii=False, separators=(",", ":")
    ).encode()
    if index_hook is not None:
        index = index_hook(index)
    stream.write(INDEX_TAG + index)
    stream.write(encode_trailer(offset, len(index), 0))
    stream.close()
    return sink.getvalue()


def _zstd_frames(content: bytes) -> bytes:
    """Stored bytes as FORMAT.md 6.1 has them: one zstd frame per FRAME_CONTENT
    bytes of content, none for an empty member."""
    zstd = zstandard.ZstdCompressor(level=19)
    pieces = range(0, len(content), FRAME_CONTENT)
    return b"".join(zstd.compress(content[i : i + FRAME_CONTENT]) for i in pieces)


BOMB = b"\x00" * (8 << 20)  # 8 MiB of zeros: a few hundred bytes once compressed


def _bomb(key: KeyFiles) -> bytes:
    return raw_archive(
        [key.secret.public.recipient()], [Raw("bomb.bin", BOMB, compress=True, declared_size=10)]
    )


def _read_all(data: MemberReader, piece: int = 1 << 20) -> tuple[int, BaseException | None]:
    """Bytes a reader released before it stopped, and why it stopped."""
    released = 0
    try:
        while chunk := data.read(piece):
            released += len(chunk)
    except IntegrityError as exc:
        return released, exc
    return released, None


# -- 1. decompression bombs: no member yields more than its declared size ---------------


def test_walk_never_releases_more_than_the_declared_size(key: KeyFiles) -> None:
    archive = _bomb(key)
    assert len(archive) < 10_000
    reader = ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    released = 0
    with pytest.raises(IntegrityError):
        for entry in reader.walk():
            assert entry.data is not None and entry.member.size == 10
            n, stopped = _read_all(entry.data)
            released += n
            if stopped is not None:
                raise stopped
    assert released <= 10


def test_open_member_never_releases_more_than_the_declared_size(key: KeyFiles) -> None:
    reader = ArchiveReader(io.BytesIO(_bomb(key)), [key.secret.identity()])
    released, stopped = _read_all(reader.open_member("bomb.bin"), piece=3)
    assert released <= 10 and isinstance(stopped, IntegrityError)


def test_declared_size_larger_than_content_is_refused(key: KeyFiles) -> None:
    archive = raw_archive([key.secret.public.recipient()], [Raw("a.txt", b"abc", declared_size=4)])
    reader = ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    with pytest.raises(IntegrityError):
        reader.open_member("a.txt").read()


def test_bomb_through_a_pipe_writes_nothing(tmp_path: Path, run_cli: RunCli, key: KeyFiles) -> None:
    archive = _bomb(key)
    out = run_cli("unpack", "-", "-i", key.path, "--stdout", stdin=archive)
    assert out.code == 4, out.stderr
    assert out.stdout == b""
    full = run_cli("unpack", "-", "-i", key.path, "-o", "dest", stdin=archive)
    assert full.code == 4, full.stderr
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir())


# -- 2. pipes: spooled ciphertext, the signer verified before any plaintext -------------


def test_require_signer_through_a_pipe_prints_nothing(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, make_keys: Callable[..., KeyFiles]
) -> None:
    sender = make_keys("sender")
    content = os.urandom(2 << 20)
    (tmp_path / "data.bin").write_bytes(content)
    packed = run_cli("pack", "data.bin", "-o", "x.sm", "-r", key.pub_path)
    assert packed.code == 0, packed.stderr
    archive = (tmp_path / "x.sm").read_bytes()
    # `cat x.sm | securemedia unpack - --stdout --require-signer K`, unsigned archive
    result = run_cli(
        "unpack", "-", "-i", key.path, "--stdout", "--require-signer", sender.pub_path,
        stdin=archive,
    )  # fmt: skip
    assert result.code == 4, result.stderr
    assert "not signed" in result.stderr
    assert result.stdout == b""
    # and the same archive through the pipe without the requirement still works
    ok = run_cli("unpack", "-", "-i", key.path, "--stdout", stdin=archive)
    assert ok.code == 0, ok.stderr
    assert ok.stdout == content


def test_list_and_unpack_read_a_pipe(tmp_path: Path, run_cli: RunCli, key: KeyFiles) -> None:
    archive = raw_archive(
        [key.secret.public.recipient()], [Raw("a.txt", b"alpha"), Raw("b.txt", b"beta" * 1000)]
    )
    listed = run_cli("list", "-", "-i", key.path, stdin=archive)
    assert listed.code == 0, listed.stderr
    assert [line.split()[-1] for line in listed.out.splitlines()] == ["a.txt", "b.txt"]
    as_json = run_cli("list", "-", "-i", key.path, "--json", stdin=archive)
    assert [m["path"] for m in json.loads(as_json.stdout)["members"]] == ["a.txt", "b.txt"]
    unpacked = run_cli("unpack", "-", "-i", key.path, "-o", "out", "-q", stdin=archive)
    assert unpacked.code == 0, unpacked.stderr
    assert (tmp_path / "out" / "b.txt").read_bytes() == b"beta" * 1000


def test_spool_that_cannot_be_written_is_a_clear_operational_error(
    tmp_path: Path, key: KeyFiles
) -> None:
    archive = raw_archive([key.secret.public.recipient()], [Raw("a.bin", os.urandom(300_000))])
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    # The spool cannot grow past 64 KiB here (RLIMIT_FSIZE; Python ignores SIGXFSZ).
    script = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536)); "
        "from securemedia.cli.main import main; sys.argv[0] = 'securemedia'; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "unpack", "-", "-i", str(key.path), "--stdout"],
        input=archive,
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(spool_dir)},
        timeout=120,
        check=False,
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert "no space left for the temporary copy" in stderr
    assert "Traceback" not in stderr and proc.stdout == b""
    assert os.listdir(spool_dir) == []  # the spool was anonymous


def test_library_reader_spools_a_pipe(tmp_path: Path, key: KeyFiles) -> None:
    archive = tmp_path / "a.sm"
    archive.write_bytes(raw_archive([key.secret.public.recipient()], [Raw("a.txt", b"alpha")]))
    with (
        subprocess.Popen(["cat", str(archive)], stdout=subprocess.PIPE) as cat,
        ArchiveReader(cat.stdout, [key.secret.identity()]) as reader,  # type: ignore[arg-type]
    ):
        assert [m.path for m in reader.iter_members()] == ["a.txt"]
        assert reader.open_member("a.txt").read() == b"alpha"


# -- 3. empty reads ---------------------------------------------------------------------


def test_empty_reads_change_nothing(key: KeyFiles) -> None:
    content = os.urandom(100_000)
    archive = raw_archive(
        [key.secret.public.recipient()],
        [Raw("a.bin", content), Raw("z.bin", content, compress=True)],
    )
    reader = ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    for name in ("a.bin", "z.bin"):
        data = reader.open_member(name)
        assert data.read(0) == b""
        assert data.readinto(bytearray(0)) == 0
        assert data.read(10) == content[:10]
        assert data.read(0) == b"" and data.readinto(memoryview(bytearray(0))) == 0
        assert data.read() == content[10:]
    for entry in reader.walk():
        assert entry.data is not None
        assert entry.data.read(0) == b""
        assert entry.data.read() == content


# -- 4. memory that does not grow with the member count ---------------------------------


def test_walk_keeps_no_member_reader(key: KeyFiles) -> None:
    """Each member's reader (zstd context, BLAKE3 state) is freed once the walk
    moves on: nothing per member is kept until the end."""
    members = [Raw(f"f{i:03}.txt", b"x" * i, compress=True) for i in range(40)]
    archive = raw_archive([key.secret.public.recipient()], members)
    reader = ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    refs: list[weakref.ref[MemberReader]] = []
    alive_during = 0
    for entry in reader.walk():
        assert entry.data is not None
        refs.append(weakref.ref(entry.data))
        del entry
        gc.collect()
        alive_during = max(alive_during, sum(r() is not None for r in refs))
    assert alive_during <= 2


def test_members_are_parsed_lazily(key: KeyFiles) -> None:
    members = [Raw(f"f{i:03}.txt", b"x") for i in range(50)]
    reader = ArchiveReader(
        io.BytesIO(raw_archive([key.secret.public.recipient()], members)), [key.secret.identity()]
    )
    assert reader.member_count == 50 and reader.total_size == 50
    first = reader.iter_members()
    assert next(first).path == "f000.txt"
    assert reader._members is None  # no list was built
    assert reader.member("f049.txt").offset > 0


# -- 5. times and modes -------------------------------------------------------------------

TIMES = [
    -(2**31) * 10**9,  # 1901-12-13, the first second of a 32-bit time_t
    -1,
    0,
    1,
    (2**31 - 1) * 10**9 + 999_999_999,
    2**63 - 1,  # 2262-04-11, the last nanosecond of the format
    -(2**63),
]


@pytest.mark.parametrize("mtime_ns", TIMES)
def test_times_round_trip_through_the_writer_and_reader(key: KeyFiles, mtime_ns: int) -> None:
    sink = io.BytesIO()
    with ArchiveWriter(sink, [key.secret.public.recipient()]) as writer:
        with writer.open_member("a.txt", mtime_ns=mtime_ns) as out:
            out.write(b"a")
        writer.add_directory("d", mtime_ns=mtime_ns)
    reader = ArchiveReader(io.BytesIO(sink.getvalue()), [key.secret.identity()])
    assert [m.mtime_ns for m in reader.iter_members()] == [mtime_ns, mtime_ns]
    assert [e.meta["mtime_ns"] for e in reader.walk()] == [mtime_ns, mtime_ns]


def test_files_before_1970_round_trip_through_the_cli(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    data = tmp_path / "old"
    data.mkdir()
    times = {
        "1901.txt": -(2**31) * 10**9 + 1_000_000_123,
        "1969.txt": -1,
        "2255.txt": 9_000_000_000 * 10**9 + 5,
    }
    for name, ns in times.items():
        (data / name).write_text(name)
        os.utime(data / name, ns=(ns, ns))
        times[name] = (data / name).stat().st_mtime_ns  # what this file system holds
    assert run_cli("pack", "old", "-o", "old.sm", "-r", key.pub_path).code == 0
    listed = run_cli("list", "old.sm", "-i", key.path)
    assert listed.code == 0, listed.stderr
    assert "1901-12-13" in listed.out and "1969-12-31" in listed.out
    unpacked = run_cli("unpack", "old.sm", "-i", key.path, "-o", "out", "-q")
    assert unpacked.code == 0, unpacked.stderr
    for name, ns in times.items():
        assert (tmp_path / "out" / "old" / name).stat().st_mtime_ns == ns


@pytest.mark.parametrize("mtime_ns", [2**63, -(2**63) - 1, 10**30, 253402300799 * 10**9])
def test_writer_refuses_times_the_format_cannot_hold(key: KeyFiles, mtime_ns: int) -> None:
    sink = io.BytesIO()
    writer = ArchiveWriter(sink, [key.secret.public.recipient()])
    with pytest.raises(InputError, match=r"'a\.txt'.*range"):
        writer.open_member("a.txt", mtime_ns=mtime_ns)
    with pytest.raises(InputError, match=r"'d'.*range"):
        writer.add_directory("d", mtime_ns=mtime_ns)


@pytest.mark.parametrize(
    ("field", "value"), [("mtime_ns", 10**30), ("mtime_ns", -(2**63) - 1), ("mode", 0o10000)]
)
def test_out_of_range_values_are_format_errors_before_anything_is_written(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, field: str, value: int
) -> None:
    members = [Raw("a.txt", b"first"), Raw("b.txt", b"second", **{field: value})]
    (tmp_path / "bad.sm").write_bytes(raw_archive([key.secret.public.recipient()], members))
    for args in (("list", "bad.sm"), ("unpack", "bad.sm", "-o", "dest")):
        result = run_cli(*args, "-i", key.path)
        assert result.code == 4, result.stderr
        assert "internal error" not in result.stderr and result.stdout == b""
        assert "range" in result.stderr or "0o7777" in result.stderr
    assert not (tmp_path / "dest").exists()


# -- the canonical index ---------------------------------------------------------------


def _respace(index: bytes) -> bytes:
    return json.dumps(json.loads(index)).encode()


def _reorder(index: bytes) -> bytes:
    doc = json.loads(index)
    doc["members"] = [dict(sorted(m.items())) for m in doc["members"]]
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _duplicate_key(index: bytes) -> bytes:
    # {"path":"evil.txt",...,"path":"a.txt"}: a parser keeping the first key and
    # one keeping the last would see different members under one signature.
    return index.replace(b'"length":', b'"path":"a.txt","length":', 1)


def _escaped(index: bytes) -> bytes:
    return index.replace(b'"a.txt"', b'"\\u0061.txt"', 1)


@pytest.mark.parametrize("hook", [_respace, _reorder, _duplicate_key, _escaped])
def test_index_must_be_canonical(key: KeyFiles, hook: Callable[[bytes], bytes]) -> None:
    archive = raw_archive([key.secret.public.recipient()], [Raw("a.txt", b"x")], index_hook=hook)
    with pytest.raises(FormatError) as caught:
        ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    assert type(caught.value) is FormatError


def test_writer_index_is_canonical(key: KeyFiles) -> None:
    name = 'å "q".txt'
    archive = raw_archive([key.secret.public.recipient()], [Raw(name, b"x")])
    reader = ArchiveReader(io.BytesIO(archive), [key.secret.identity()])
    assert [m.path for m in reader.iter_members()] == [name]


def test_api_unpack_of_a_pipe_like_stream(tmp_path: Path, key: KeyFiles) -> None:
    """The API path (open_archive) closes its reader; nothing else to see here
    but that it still works end to end."""
    source = tmp_path / "in.txt"
    source.write_text("hello")
    api.pack([source], tmp_path / "a.sm", [key.secret.public.recipient()])
    result = api.unpack(tmp_path / "a.sm", tmp_path / "out", [key.secret.identity()])
    assert (tmp_path / "out" / "in.txt").read_text() == "hello"
    assert [m.path for m in result.members] == ["in.txt"]
