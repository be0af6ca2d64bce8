"""The salvage copy block and its reserve: the bound really bounds the tail."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_support import cli
from securemedia.archive.index import MAX_MTIME_NS, MAX_SIZE, MIN_MTIME_NS, Member, encode_index
from securemedia.archive.paths import validate_member_name
from securemedia.archive.writer import ArchiveWriter
from securemedia.errors import MediaError, UnsafeMemberError
from securemedia.keys import SecretKey
from securemedia.media.header import HEADER_SIZE, SECTOR
from securemedia.media.salvage_copy import (
    COPY_HEADER_SIZE,
    CopyInfo,
    copy_length,
    index_bound,
    parse_copy_header,
    salvage_reserve,
)
from securemedia.media.volume_set import read_volume_info
from securemedia.media.volumes import VolumeSetWriter

SIZES = st.integers(0, MAX_SIZE)


@st.composite
def members(draw: st.DrawFn) -> list[Member]:
    names = draw(st.lists(st.text(min_size=1, max_size=60), max_size=12, unique=True))
    return [
        Member(
            path=name,
            type=draw(st.sampled_from(["file", "dir"])),
            size=draw(SIZES),
            mode=draw(st.integers(0, 0o777)),
            mtime_ns=draw(st.integers(MIN_MTIME_NS, MAX_MTIME_NS)),
            compression=draw(st.sampled_from(["none", "zstd"])),
            blake3=draw(st.sampled_from(["", "ab" * 32])),
            offset=draw(SIZES),
            length=draw(SIZES),
        )
        for name in names
    ]


@given(members())
def test_index_bound_bounds_any_index(entries: list[Member]) -> None:
    """Any names (quotes, controls, astral characters, lone surrogates) and any
    field values the format allows: the index is never longer than the bound."""
    try:
        index = encode_index(entries)
    except UnicodeEncodeError:
        index = encode_index_surrogates(entries)
    assert len(index) <= index_bound(m.path for m in entries)


def encode_index_surrogates(entries: list[Member]) -> bytes:
    import json
    from dataclasses import asdict

    doc = {"version": 1, "members": [asdict(m) for m in entries]}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


class _Sink(io.BytesIO):
    """An in-memory archive that records what the writer announces for the copy."""

    layout: tuple[int, int] | None = None

    def salvage_layout(self, header_length: int, tail_offset: int) -> None:
        self.layout = (header_length, tail_offset)


def _packable(name: str) -> bool:
    try:
        validate_member_name(f"m-{name}")
    except UnsafeMemberError:
        return False
    return True


NAME_CHARS = st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"))
SAFE_NAMES = st.lists(
    st.text(NAME_CHARS, min_size=1, max_size=40).filter(_packable),
    min_size=1,
    max_size=8,
    unique_by=str.casefold,
)


SECRET_PQ = SecretKey.generate()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(SAFE_NAMES, st.integers(0, 2 * (1 << 20) + 5000), st.booleans())
def test_reserve_bounds_the_real_copy(
    classic_key: SecretKey, names: list[str], size: int, signed: bool
) -> None:
    """A real (signed or not) archive: its copy block fits the reserve the writer
    computed from the names alone, whatever chunk the index starts in."""
    recipient = classic_key.public.recipient()
    # The largest signature block (a pq key pair's) is the one the reserve must hold.
    signer = SECRET_PQ if signed else None
    sink = _Sink()
    writer = ArchiveWriter(sink, [recipient], signer=signer)
    data = os.urandom(size)
    with writer:
        for i, name in enumerate(names):
            with writer.open_member(f"m{i}-{name}") as out:
                out.write(data if i == 0 else b"x")
    assert sink.layout is not None
    header_length, tail = sink.layout
    archive = len(sink.getvalue())
    used = copy_length(header_length, tail, archive)
    assert used <= salvage_reserve([f"m{i}-{n}" for i, n in enumerate(names)], header_length)
    assert salvage_reserve([], header_length) % SECTOR == 0


def test_copy_header_round_trip_and_refusals() -> None:
    info = CopyInfo(300, 5000, 9000, b"s" * 16)
    block = info.pack()
    assert len(block) == COPY_HEADER_SIZE
    assert parse_copy_header(block, "v") == info
    assert info.block_length == COPY_HEADER_SIZE + SECTOR * 3  # 300 + 4000 bytes
    with pytest.raises(MediaError, match="checksum"):
        parse_copy_header(block[:100] + b"\x01" + block[101:], "v")
    with pytest.raises(MediaError, match="no salvage copy"):
        parse_copy_header(bytes(COPY_HEADER_SIZE), "v")
    bad = CopyInfo(300, 200, 9000, b"s" * 16).pack()  # tail before the header's end
    with pytest.raises(MediaError, match="malformed"):
        parse_copy_header(bad, "v")


def test_api_writer_without_a_bound_writes_no_copy(tmp_path: Path) -> None:
    with VolumeSetWriter(tmp_path / "s", 64 * SECTOR, redundancy=None) as writer:
        writer.salvage_layout(10, 10)
        writer.write(os.urandom(100_000))
    assert not writer.has_salvage_copy
    assert writer.salvage_skipped == "no bound on the index was given"
    header = read_volume_info(writer.paths[0]).header
    assert not header.has_copy and header.flags == 0
    assert writer.paths[0].stat().st_size == HEADER_SIZE + header.payload_length


def test_reserve_too_large_for_the_medium(tmp_path: Path) -> None:
    """Over 1/8 of a volume's room: no reserve, no copy, and the reason."""
    with VolumeSetWriter(tmp_path / "s", 64 * SECTOR, redundancy=None) as writer:
        assert not writer.reserve_salvage(9 * SECTOR)
        writer.write(b"x" * 1000)
    assert not writer.has_salvage_copy
    assert writer.salvage_skipped == "the index is too large for the medium"
    with VolumeSetWriter(tmp_path / "t", 64 * SECTOR, redundancy=None) as writer:
        assert writer.reserve_salvage(7 * SECTOR)
        writer.write(b"x" * 1000)  # no layout announced: not an archive writer
    assert not writer.has_salvage_copy


def test_pack_on_a_tiny_medium_says_no_copy(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(os.urandom(50_000))
    assert cli("keygen", "--no-passphrase", "--classic", "-o", tmp_path / "k").returncode == 0
    packed = cli(
        "pack", tmp_path / "d", "-r", tmp_path / "k.pub", "-o", tmp_path / "s.sm",
        "--media", "2MB", "--redundancy", "0",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    assert "no salvage copy: the index is too large for the medium" in packed.stderr
    assert not read_volume_info(tmp_path / "s.sm.001.smv").header.has_copy
