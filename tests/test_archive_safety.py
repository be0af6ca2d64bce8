"""Issue #3, safe unpack: hostile member names and types are refused with a
clear error before anything is written; a symbolic link planted in the
destination cannot redirect extraction; existing files are not overwritten
without --force; free space is checked first.

Hostile archives are correctly encrypted and authenticated (they could come
from any holder of a recipient's public key); they are written with the
low-level pieces by ``archive_helpers.write_raw_archive``, which skips the
writer's own name checks.
"""

from __future__ import annotations

import io
import os
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from archive_helpers import RawEntry, file_meta, mounted_tmpfs, snapshot, write_raw_archive
from conftest import KeyFiles, RunCli
from securemedia import ArchiveReader, ArchiveWriter, Compression
from securemedia.archive.extract import extract
from securemedia.errors import DestinationExistsError, FormatError, OperationalError


@pytest.fixture
def key(make_keys: Callable[..., KeyFiles]) -> KeyFiles:
    return make_keys("office", classic=True)


def _file(path: str, content: bytes = b"payload\n") -> RawEntry:
    return RawEntry(file_meta(path), content)


def _dir(path: str) -> RawEntry:
    return RawEntry(file_meta(path, kind="dir", mode=0o755))


def _special(path: str, kind: str, content: bytes | None = b"/etc/passwd") -> RawEntry:
    return RawEntry(file_meta(path, kind=kind), content)


NFC = unicodedata.normalize("NFC", "café.txt")
NFD = unicodedata.normalize("NFD", "café.txt")

HOSTILE: dict[str, tuple[list[RawEntry], str]] = {
    "dotdot": ([_file("ok.txt"), _file("../evil.txt")], "'..' component"),
    "dotdot-nested": ([_dir("data"), _file("data/../../evil.txt")], "'..' component"),
    "dot": ([_file("./evil.txt")], "'.' component"),
    "absolute": ([_file("/tmp/securemedia-evil-absolute.txt")], "absolute path"),
    "drive-letter": ([_file("C:evil.txt")], "absolute path"),
    "drive-letter-slash": ([_file("C:/evil.txt")], "absolute path"),
    "backslash": ([_file("data\\..\\evil.txt")], "backslash"),
    "empty-component": ([_file("data//evil.txt")], "'' component"),
    "nul": ([_file("evil\x00.txt")], "control character"),
    "newline": ([_file("evil\n.txt")], "control character"),
    "escape": ([_file("evil\x1b[31m.txt")], "control character"),
    "delete": ([_file("evil\x7f.txt")], "control character"),
    "c1-control": ([_file("evil\x9b.txt")], "control character"),
    "device-name": ([_file("CON.txt")], "reserved device name"),
    "symlink": ([_special("link", "symlink")], "type 'symlink'"),
    "hardlink": ([_file("target.txt"), _special("link", "hardlink")], "type 'hardlink'"),
    "chardev": ([_special("null", "chardev", None)], "type 'chardev'"),
    "blockdev": ([_special("sda", "blockdev", None)], "type 'blockdev'"),
    "fifo": ([_special("pipe", "fifo", None)], "type 'fifo'"),
    "duplicate": ([_file("a.txt"), _file("a.txt", b"second")], "duplicate member name"),
    "duplicate-case": ([_file("Data.txt"), _file("data.txt")], "duplicate member name"),
    "duplicate-unicode": ([_file(NFC), _file(NFD)], "duplicate member name"),
    "duplicate-dir": ([_dir("data"), _dir("data")], "duplicate member name"),
    "file-then-inside": ([_file("f"), _file("f/x")], "inside a file"),
    "inside-then-file": ([_file("f/x"), _file("f")], "holds other members"),
    # The index is harmless; the record the extractor acts on is not.
    "record-differs": (
        [RawEntry(file_meta("../evil.txt"), b"x", index_meta=file_meta("ok.txt"))],
        "'..' component",
    ),
}


def _arena(tmp_path: Path) -> tuple[Path, Path]:
    """A directory holding the destination, so that a write beside or above the
    destination would show; the destination does not exist yet."""
    arena = tmp_path / "arena"
    (arena / "level").mkdir(parents=True)
    (arena / "keep.txt").write_text("pre-existing")
    return arena, arena / "level" / "dest"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_refused_before_anything_is_written(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles, case: str
) -> None:
    entries, message = HOSTILE[case]
    archive = tmp_path / "hostile.sm"
    with archive.open("wb") as sink:
        write_raw_archive(sink, [key.secret.public.recipient()], entries)
    _, dest = _arena(tmp_path)
    before = snapshot(tmp_path)

    # From a file (the index is read first) ...
    result = run_cli("unpack", archive, "-i", key.path, "-o", dest)
    assert result.code == 4, result.stderr
    assert result.stderr.startswith("securemedia: error:"), result.stderr
    assert message in result.stderr, result.stderr
    assert "\x00" not in result.stderr and "\x1b" not in result.stderr
    assert "\n" not in result.stderr.rstrip("\n")
    assert snapshot(tmp_path) == before
    assert not Path("/tmp/securemedia-evil-absolute.txt").exists()

    # ... and from a pipe (held encrypted in a temporary file, then read the same way).
    with subprocess.Popen(["cat", str(archive)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        with pytest.raises(FormatError) as caught:
            extract(ArchiveReader(cat.stdout, [key.secret.identity()]), dest)
        assert message in str(caught.value)
        cat.stdout.read()
    assert snapshot(tmp_path) == before
    assert not Path("/tmp/securemedia-evil-absolute.txt").exists()


def test_raw_helper_makes_archives_that_unpack(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    """The hostile archives above fail for their names only: the same helper
    with harmless names makes an archive that unpacks."""
    archive = tmp_path / "fine.sm"
    with archive.open("wb") as sink:
        write_raw_archive(
            sink,
            [key.secret.public.recipient()],
            [_dir("data"), _file("data/a.txt", b"alpha"), _file("café.txt", b"b" * 3_000_000)],
        )
    result = run_cli("unpack", archive, "-i", key.path, "-o", tmp_path / "out")
    assert result.code == 0, result.stderr
    assert (tmp_path / "out" / "data" / "a.txt").read_bytes() == b"alpha"
    assert (tmp_path / "out" / "café.txt").read_bytes() == b"b" * 3_000_000


# -- the destination ---------------------------------------------------------------


def _archive(tmp_path: Path, key: KeyFiles, members: dict[str, bytes | None]) -> Path:
    archive = tmp_path / "legit.sm"
    with archive.open("wb") as sink, ArchiveWriter(sink, [key.secret.public.recipient()]) as w:
        for name, content in members.items():
            if content is None:
                w.add_directory(name, mode=0o700)
            else:
                with w.open_member(name, mode=0o600) as out:
                    out.write(content)
    return archive


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize(
    "members",
    [
        {"sub/file.txt": b"escaped?"},
        {"sub": None, "sub/file.txt": b"escaped?"},
        {"sub": None},
        {"top/sub": None, "top/sub/deep/file.txt": b"escaped?"},
    ],
    ids=["file-below-link", "dir-and-file", "dir-only", "nested-link"],
)
def test_symlink_planted_in_destination_cannot_redirect(
    tmp_path: Path, key: KeyFiles, members: dict[str, bytes | None], pipe: bool
) -> None:
    archive = _archive(tmp_path, key, members)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    dest = tmp_path / "dest"
    link_at = dest / "top" / "sub" if "top/sub" in members else dest / "sub"
    link_at.parent.mkdir(parents=True)
    link_at.symlink_to(elsewhere)
    before = snapshot(tmp_path)
    mode_before = elsewhere.stat().st_mode

    if pipe:
        with subprocess.Popen(["cat", str(archive)], stdout=subprocess.PIPE) as cat:
            assert cat.stdout is not None
            reader = ArchiveReader(cat.stdout, [key.secret.identity()])
            with pytest.raises(OperationalError, match="symbolic link"):
                extract(reader, dest, force=True)
    else:
        with archive.open("rb") as handle:
            reader = ArchiveReader(handle, [key.secret.identity()])
            with pytest.raises(OperationalError, match="symbolic link"):
                extract(reader, dest, force=True)
    assert os.listdir(elsewhere) == []
    assert elsewhere.stat().st_mode == mode_before  # no chmod through the link
    assert snapshot(tmp_path) == before


def test_symlink_in_destination_refused_by_the_cli(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    archive = _archive(tmp_path, key, {"sub": None, "sub/file.txt": b"x"})
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "sub").symlink_to(tmp_path / "elsewhere")
    result = run_cli("unpack", archive, "-i", key.path, "-o", "dest", "--force")
    assert result.code == 1
    assert "symbolic link" in result.stderr
    assert os.listdir(tmp_path / "elsewhere") == []
    assert os.listdir(tmp_path / "dest") == ["sub"]


def test_symlink_at_a_file_name_is_replaced_only_with_force(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    archive = _archive(tmp_path, key, {"file.txt": b"new content"})
    target = tmp_path / "outside.txt"
    target.write_text("must stay")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "file.txt").symlink_to(target)
    refused = run_cli("unpack", archive, "-i", key.path, "-o", "dest")
    assert refused.code == 1 and "already exists" in refused.stderr
    forced = run_cli("unpack", archive, "-i", key.path, "-o", "dest", "--force")
    assert forced.code == 0, forced.stderr
    assert not (tmp_path / "dest" / "file.txt").is_symlink()
    assert (tmp_path / "dest" / "file.txt").read_bytes() == b"new content"
    assert target.read_text() == "must stay"


def test_existing_file_is_never_overwritten_without_force(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    members = {"data": None, "data/a.txt": b"from archive a", "data/b.txt": b"from archive b"}
    archive = _archive(tmp_path, key, members)
    dest = tmp_path / "dest"
    (dest / "data").mkdir(parents=True)
    (dest / "data" / "b.txt").write_bytes(b"mine")
    before = snapshot(tmp_path)

    refused = run_cli("unpack", archive, "-i", key.path, "-o", dest)
    assert refused.code == 1
    assert "b.txt already exists (use --force to overwrite)" in refused.stderr
    assert snapshot(tmp_path) == before  # a.txt was not written either
    assert (dest / "data" / "b.txt").read_bytes() == b"mine"

    forced = run_cli("unpack", archive, "-i", key.path, "-o", dest, "--force")
    assert forced.code == 0, forced.stderr
    assert (dest / "data" / "a.txt").read_bytes() == b"from archive a"
    assert (dest / "data" / "b.txt").read_bytes() == b"from archive b"
    assert sorted(os.listdir(dest)) == ["data"]

    # A directory where a file goes, or a file where a directory goes: refused
    # even with --force, before anything moves.
    dest2 = tmp_path / "dest2"
    (dest2 / "data" / "a.txt").mkdir(parents=True)
    clash = run_cli("unpack", archive, "-i", key.path, "-o", dest2, "--force")
    assert clash.code == 1 and "is a directory" in clash.stderr
    assert sorted(p.name for p in dest2.rglob("*")) == ["a.txt", "data"]
    dest3 = tmp_path / "dest3"
    dest3.mkdir()
    (dest3 / "data").write_bytes(b"a file")
    clash = run_cli("unpack", archive, "-i", key.path, "-o", dest3, "--force")
    assert clash.code == 1 and "not a directory" in clash.stderr
    assert os.listdir(dest3) == ["data"] and (dest3 / "data").read_bytes() == b"a file"


def test_existing_file_refused_when_reading_from_a_pipe(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    archive = _archive(tmp_path, key, {"a.txt": b"archive a", "b.txt": b"archive b"})
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "b.txt").write_bytes(b"mine")
    result = run_cli("unpack", "-", "-i", key.path, "-o", "dest", stdin=archive.read_bytes())
    assert result.code == 1 and "already exists" in result.stderr
    assert os.listdir(tmp_path / "dest") == ["b.txt"]
    assert (tmp_path / "dest" / "b.txt").read_bytes() == b"mine"


def test_free_space_checked_before_writing(tmp_path: Path, run_cli: RunCli, key: KeyFiles) -> None:
    # 64 MiB of zeros compress to almost nothing: a small archive, a big member.
    sink = io.BytesIO()
    with (
        ArchiveWriter(sink, [key.secret.public.recipient()], compression=Compression()) as w,
        w.open_member("zeros.bin") as out,
    ):
        block = bytes(1 << 20)
        for _ in range(64):
            out.write(block)
    archive = tmp_path / "zeros.sm"
    archive.write_bytes(sink.getvalue())
    assert archive.stat().st_size < 1 << 20
    small = tmp_path / "small-fs"
    small.mkdir()
    with mounted_tmpfs(small, "size=8m"):
        (small / "keep.txt").write_text("x")
        result = run_cli("unpack", archive, "-i", key.path, "-o", small / "dest")
        assert result.code == 1
        assert "not enough free space" in result.stderr
        assert sorted(os.listdir(small)) == ["keep.txt"]
        with archive.open("rb") as handle, pytest.raises(OperationalError, match="free space"):
            extract(ArchiveReader(handle, [key.secret.identity()]), small)
        assert sorted(os.listdir(small)) == ["keep.txt"]


def test_destination_that_is_a_file_is_refused(
    tmp_path: Path, run_cli: RunCli, key: KeyFiles
) -> None:
    archive = _archive(tmp_path, key, {"a.txt": b"a"})
    (tmp_path / "dest").write_text("a file")
    result = run_cli("unpack", archive, "-i", key.path, "-o", "dest")
    assert result.code != 0
    assert (tmp_path / "dest").read_text() == "a file"
    with archive.open("rb") as handle, pytest.raises((OperationalError, DestinationExistsError)):
        extract(ArchiveReader(handle, [key.secret.identity()]), tmp_path / "dest")
