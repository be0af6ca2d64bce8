"""Volume files: splitting, reassembly in any order, and every disc mix-up."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from securemedia.errors import DestinationExistsError, MediaError, UsageError
from securemedia.media.header import HEADER_SIZE, VolumeHeader, parse_header
from securemedia.media.sizes import parse_medium, parse_redundancy, parse_size
from securemedia.media.volume_set import is_volume_or_image, open_volume_set
from securemedia.media.volumes import VolumeSetWriter

CAP = HEADER_SIZE + 100_000


def write_set(base: Path, data: bytes, capacity: int = CAP, step: int = 7777) -> list[Path]:
    with VolumeSetWriter(base, capacity, redundancy=None) as writer:
        for i in range(0, len(data), step):
            writer.write(data[i : i + step])
    return writer.paths


@pytest.fixture
def data() -> bytes:
    return os.urandom(250_000)


def test_sizes_and_media() -> None:
    assert parse_size("8MB") == 8_000_000
    assert parse_size("700MiB") == 734_003_200
    assert parse_size("123") == 123
    assert parse_medium("dvd").capacity == 4_700_372_992
    assert parse_medium("cd74").capacity == 681_984_000
    assert parse_medium("BD-DL").capacity == 50_050_629_632
    assert parse_medium("8MB").capacity == 8_000_000 // 2048 * 2048
    for bad in ("floppy", "8XB", "", "1KB", "-5MB"):
        with pytest.raises(UsageError):
            parse_medium(bad)
    assert parse_redundancy("10%") == pytest.approx(0.10)
    assert parse_redundancy("0.2") == pytest.approx(0.2)
    assert parse_redundancy("0") is None
    with pytest.raises(UsageError):
        parse_redundancy("150%")


def test_split_and_reassemble_any_order(tmp_path: Path, data: bytes) -> None:
    paths = write_set(tmp_path / "ship.sm", data)
    assert [p.name for p in paths] == ["ship.sm.001.smv", "ship.sm.002.smv", "ship.sm.003.smv"]
    assert all(p.stat().st_size <= CAP for p in paths)
    assert sorted(os.listdir(tmp_path)) == [p.name for p in paths]  # no temporaries left
    headers = [parse_header(p.read_bytes()[:HEADER_SIZE], p.name) for p in paths]
    assert [(h.number, h.count) for h in headers] == [(1, 3), (2, 3), (3, 3)]
    assert len({h.set_id for h in headers}) == 1
    assert all(h.archive_length == len(data) for h in headers)
    for order in (paths, paths[::-1], [paths[1], paths[2], paths[0]]):
        with open_volume_set(order) as stream:
            assert stream.read() == data
            stream.seek(199_990)  # across the boundary of volumes 2 and 3
            assert stream.read(20) == data[199_990:200_010]
            assert stream.seek(0, io.SEEK_END) == len(data)
    assert all(is_volume_or_image(p) for p in paths)
    assert not is_volume_or_image(Path(__file__))


def test_each_set_gets_its_own_id(tmp_path: Path, data: bytes) -> None:
    one = write_set(tmp_path / "a.sm", data)
    two = write_set(tmp_path / "b.sm", data)
    h1 = parse_header(one[0].read_bytes()[:HEADER_SIZE], "a")
    h2 = parse_header(two[0].read_bytes()[:HEADER_SIZE], "b")
    assert h1.set_id != h2.set_id


def test_exact_fill_makes_no_empty_volume(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    paths = write_set(tmp_path / "x", data)
    assert len(paths) == 2
    with open_volume_set(paths) as stream:
        assert stream.read() == data


def test_empty_archive_is_one_volume(tmp_path: Path) -> None:
    paths = write_set(tmp_path / "x", b"")
    assert len(paths) == 1
    with open_volume_set(paths) as stream:
        assert stream.read() == b""


def test_missing_volume(tmp_path: Path, data: bytes) -> None:
    paths = write_set(tmp_path / "ship.sm", data)
    with pytest.raises(MediaError, match=r"^volume 2 of 3 is missing$"):
        open_volume_set([paths[2], paths[0]])


def test_duplicate_volume(tmp_path: Path, data: bytes) -> None:
    paths = write_set(tmp_path / "ship.sm", data)
    copy = tmp_path / "copy-of-2"
    copy.write_bytes(paths[1].read_bytes())
    with pytest.raises(MediaError, match=r"^volume 2 of 3 was given more than once") as err:
        open_volume_set([*paths, copy])
    assert "copy-of-2" in str(err.value)
    # The same disc twice and one missing: both are named.
    with pytest.raises(
        MediaError,
        match=r"volume 2 of 3 was given more than once.*"
        r"volume 3 of 3 is missing",
    ):
        open_volume_set([paths[0], paths[1], copy])


def test_foreign_volume(tmp_path: Path, data: bytes) -> None:
    ours = write_set(tmp_path / "ship.sm", data)
    theirs = write_set(tmp_path / "other.sm", data)
    with pytest.raises(MediaError) as err:
        open_volume_set([ours[0], theirs[1], ours[2]])
    message = str(err.value)
    assert "other.sm.002.smv: volume 2 of 3 belongs to another archive" in message
    assert "volume 2 of 3 is missing" in message


def test_damaged_or_altered_header(tmp_path: Path, data: bytes) -> None:
    paths = write_set(tmp_path / "ship.sm", data)
    raw = bytearray(paths[1].read_bytes())
    raw[30] ^= 1  # a bit flip in the volume number
    paths[1].write_bytes(bytes(raw))
    with pytest.raises(MediaError, match=r"ship.sm.002.smv: the volume header is damaged"):
        open_volume_set(paths)
    # A header forged with a valid CRC but a count that disagrees with the rest.
    header = parse_header(paths[0].read_bytes()[:HEADER_SIZE], "x")
    forged = VolumeHeader(header.set_id, 2, 4, 100_000, 100_000, len(data))
    paths[1].write_bytes(forged.pack() + bytes(raw[HEADER_SIZE:]))
    with pytest.raises(MediaError, match=r"says volume 2 of 4 but the other volumes say 3"):
        open_volume_set(paths)


def test_truncated_volume(tmp_path: Path, data: bytes) -> None:
    paths = write_set(tmp_path / "ship.sm", data)
    with paths[0].open("r+b") as fp:
        fp.truncate(50_000)
    with pytest.raises(MediaError, match=r"ship.sm.001.smv: volume 1 of 3 is truncated"):
        open_volume_set(paths)


def test_not_a_volume(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(5000))
    with pytest.raises(
        MediaError, match="junk: not a securemedia volume, nor a disc image holding one"
    ):
        open_volume_set([junk])


def test_abort_removes_everything(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(RuntimeError), VolumeSetWriter(tmp_path / "s", CAP) as writer:
        writer.write(data)
        raise RuntimeError("archive writer failed half-way")
    assert os.listdir(tmp_path) == []


def test_refuses_to_overwrite(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "s.001.smv").write_bytes(b"precious")
    with pytest.raises(DestinationExistsError):
        VolumeSetWriter(tmp_path / "s", CAP, redundancy=None)
    # A later volume in the way is found at close; nothing new is left behind.
    (tmp_path / "s.001.smv").unlink()
    (tmp_path / "s.003.smv").write_bytes(b"precious")
    with pytest.raises(DestinationExistsError):
        write_set(tmp_path / "s", data)
    assert sorted(os.listdir(tmp_path)) == ["s.003.smv"]
    assert (tmp_path / "s.003.smv").read_bytes() == b"precious"
