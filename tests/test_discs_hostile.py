"""Issue 12's discs against the project's three adversaries, through the real CLI.

- The finder controls every byte of a disc: forged volume headers (spare count,
  stripe length, payload fields, copy length), forged salvage-copy blocks and
  forged spare parity. Keyless ``verify``/``repair`` answer with one line and
  exit 4, in bounded time and memory; ``verify`` writes nothing; a ``repair``
  that fails leaves nothing behind.
- The sender is anyone: ``unpack --salvage`` restores nothing partial, honours
  ``--require-signer`` and never trusts a salvage copy (ciphertext the archive
  authenticates) that disagrees with what it copies.
- Mix-ups: a spare of another set, the same spare twice, a data disc alone, a
  rebuilt volume given back.

Sets are small (2MB and 10MB media) and made without recovery data, so a forged
header only needs its CRC recomputed: what the finder would do.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import subprocess
from pathlib import Path

import pytest

from media_support import cli
from securemedia.media.header import HEADER_SIZE, VolumeHeader, parse_header
from securemedia.media.salvage_copy import COPY_HEADER_SIZE, CopyInfo, parse_copy_header
from securemedia.media.sizes import LARGEST_MEDIUM

LIMIT_AS = 1_500_000_000
"""Address space for a child reading a forged set: far below any forged size."""


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def _bounded_read_only() -> None:
    _bounded()
    # Any write to any file kills the child (SIGXFSZ): "verify writes nothing".
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a child with bounded memory."""
    return cli(*args, preexec_fn=_bounded)


def run_read_only(tmp: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a child with bounded memory that may not write a byte to any file."""
    tmp.mkdir(exist_ok=True)
    return cli(
        *args,
        extra_env={"PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(tmp)},
        preexec_fn=_bounded_read_only,
    )


def one_line_failure(result: subprocess.CompletedProcess[str], code: int = 4) -> str:
    """Assert exit ``code`` with one ``securemedia: error:`` line and no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    return errors[0]


def verify_failure(result: subprocess.CompletedProcess[str]) -> str:
    """As :func:`one_line_failure` for ``verify``, whose report on stdout names
    each problem (its error line only points there): the report and the line."""
    return one_line_failure(result) + "\n" + result.stdout


def files_under(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- forging ------------------------------------------------------------------


def header_of(path: Path) -> VolumeHeader:
    return parse_header(path.read_bytes()[:HEADER_SIZE], str(path))


def forge(path: Path, **fields: int | bytes) -> None:
    """Rewrite the volume header of a volume file with ``fields`` (CRC recomputed)."""
    header = dataclasses.replace(header_of(path), **fields)  # type: ignore[arg-type]
    with path.open("r+b") as fp:
        fp.write(header.pack())


def copy_info(path: Path) -> CopyInfo:
    header = header_of(path)
    with path.open("rb") as fp:
        fp.seek(header.copy_offset)
        return parse_copy_header(fp.read(COPY_HEADER_SIZE), str(path))


def forge_copy(path: Path, **fields: int | bytes) -> None:
    """Rewrite the salvage-copy block header of a volume file (CRC recomputed)."""
    info = dataclasses.replace(copy_info(path), **fields)  # type: ignore[arg-type]
    with path.open("r+b") as fp:
        fp.seek(header_of(path).copy_offset)
        fp.write(info.pack())


def poke(path: Path, at: int, data: bytes) -> None:
    with path.open("r+b") as fp:
        fp.seek(at)
        fp.write(data)


# -- sets ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("keys")
    for name in ("key", "other"):
        made = cli("keygen", "--no-passphrase", "--classic", "-o", root / name)
        assert made.returncode == 0, made.stderr
    return root


def _pack(keys: Path, data: Path, out: Path, media: str, *extra: str) -> list[Path]:
    out.mkdir()
    packed = cli(
        "pack", data, "-r", keys / "key.pub", "--sign", keys / "key", "-o", out / "ship.sm",
        "--media", media, "--redundancy", "0", "--no-compress", "-q", *extra,
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    return sorted(out.iterdir())


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("small") / "data"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(5_000_000))
    (data / "b.txt").write_bytes(b"tiny\n")
    return data


@pytest.fixture(scope="module")
def spare_set(keys: Path, small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three data volumes and one spare on 2MB media, no recovery data, signed."""
    paths = _pack(
        keys, small_data, tmp_path_factory.mktemp("spare") / "set", "2MB", "--spare-discs", "1"
    )
    assert [header_of(p).number for p in paths] == [1, 2, 3, 4]
    assert header_of(paths[3]).is_spare
    return paths


@pytest.fixture(scope="module")
def other_spare_set(
    keys: Path, small_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """The same data packed again: another set of the very same shape."""
    return _pack(
        keys, small_data, tmp_path_factory.mktemp("other") / "set", "2MB", "--spare-discs", "1"
    )


@pytest.fixture(scope="module")
def copy_set(keys: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """Two data volumes on 10MB media carrying salvage copies, no spares: the
    dataset and the volume files. ``late.bin`` lies on volume 2 only."""
    root = tmp_path_factory.mktemp("copy")
    data = root / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(9_000_000))
    (data / "late.bin").write_bytes(os.urandom(3_000_000))
    (data / "tiny.txt").write_bytes(b"tiny\n")
    paths = _pack(keys, data, root / "set", "10MB")
    assert len(paths) == 2 and all(header_of(p).has_copy for p in paths)
    return data, paths


def copy_of(paths: list[Path], dest: Path) -> list[Path]:
    dest.mkdir()
    return [Path(shutil.copy2(p, dest / p.name)) for p in paths]


# -- the finder: forged volume headers ----------------------------------------


@pytest.mark.parametrize(
    ("forged", "given"),
    [
        (3, (1, 3, 4)),  # volume 3 claims a 2,048-byte payload; volume 2 is rebuilt
        (2, (1, 2, 4)),  # volume 2 claims a 2,048-byte payload; volume 3 is rebuilt
    ],
)
def test_repair_refuses_a_survivor_whose_payload_length_is_forged(
    spare_set: list[Path], tmp_path: Path, forged: int, given: tuple[int, ...]
) -> None:
    paths = copy_of(spare_set, tmp_path / "in")
    forge(paths[forged - 1], payload_length=2048)
    out = tmp_path / "out"
    result = run("repair", *[paths[n - 1] for n in given], "-o", out)
    line = one_line_failure(result)
    assert f"volume {forged} of 3" in line
    assert files_under(out) == []


def test_repair_refuses_a_survivor_whose_payload_offset_is_forged(
    spare_set: list[Path], tmp_path: Path
) -> None:
    """``unpack`` and ``verify`` refuse this set: ``repair`` must not burn from it."""
    paths = copy_of(spare_set, tmp_path / "in")
    forge(paths[0], payload_offset=4096)
    out = tmp_path / "out"
    given = [paths[0], paths[2], paths[3]]
    line = one_line_failure(run("repair", *given, "-o", out))
    assert "volume 1 of 3" in line
    assert files_under(out) == []
    assert "volume 1 of 3" in verify_failure(run_read_only(tmp_path / "t", "verify", *given))


def test_a_forged_spare_count_is_bounded(
    spare_set: list[Path], keys: Path, small_data: Path, tmp_path: Path
) -> None:
    """Every header says 253 spares (the most 3 data volumes allow): the set reads
    as one with 252 spares missing; nothing is sized by the forged count."""
    paths = copy_of(spare_set, tmp_path / "in")
    for path in paths:
        forge(path, spares=253)
    line = verify_failure(run_read_only(tmp_path / "t", "verify", *paths))
    assert "spare volume 2 of 253 is missing" in line
    # The data volumes are authentic: they restore; the forged count changes nothing.
    dest = tmp_path / "dest"
    restored = run("unpack", *paths, "-i", keys / "key", "-o", dest, "-q")
    assert restored.returncode == 0, restored.stderr
    assert (dest / "data" / "a.bin").read_bytes() == (small_data / "a.bin").read_bytes()


def _tight() -> None:
    limit = 500_000_000  # what the CLI needs here is far less; 255 bitmaps are more
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_one_forged_disc_naming_255_volumes_of_the_largest_disc_costs_no_memory(
    spare_set: list[Path], keys: Path, tmp_path: Path
) -> None:
    """The last data volume of a forged 255+1 set of BD-R DL discs, alone: nothing
    is held per missing volume before a byte of it is rebuilt."""
    lone = Path(shutil.copy2(spare_set[2], tmp_path / "ship.sm.255"))
    length = header_of(lone).payload_length
    forge(
        lone, number=255, count=255, spares=1, stripe_length=LARGEST_MEDIUM,
        payload_offset=254 * LARGEST_MEDIUM, archive_length=254 * LARGEST_MEDIUM + length,
    )  # fmt: skip
    dest = tmp_path / "dest"
    args = ("unpack", "--salvage", lone, "-i", keys / "key", "-o", dest)
    line = one_line_failure(cli(*args, preexec_fn=_tight))
    assert "nothing can be salvaged" in line and len(line) < 600, line
    assert files_under(dest) == []
    verify_failure(run_read_only(tmp_path / "t", "verify", lone))
    # One clear line: the 254 missing volumes are one run, not 254 sentences.
    line = one_line_failure(run("unpack", lone, "-i", keys / "key", "-o", dest))
    assert "volumes 1 to 254 of 255 are missing" in line and len(line) < 400, line


@pytest.mark.parametrize(
    "fields",
    [
        {"stripe_length": 1996800 * 40, "payload_length": 1996800 * 40},  # past the archive
        {"stripe_length": 5_000_000, "payload_length": 5_000_000},  # past the file
        {"copy_length": 1 << 30, "flags": 4 | 8},  # a copy past the end of the file
    ],
)
def test_forged_spare_lengths_are_one_line(
    spare_set: list[Path], keys: Path, tmp_path: Path, fields: dict[str, int]
) -> None:
    paths = copy_of(spare_set, tmp_path / "in")
    forge(paths[3], **fields)
    given = [paths[0], paths[2], paths[3]]  # volume 2 is missing: the spare is needed
    line = verify_failure(run_read_only(tmp_path / "t", "verify", *given))
    assert "spare volume 1 of 1" in line or "ship.sm.004.smv" in line
    out = tmp_path / "out"
    one_line_failure(run("repair", *given, "-o", out))
    assert files_under(out) == []
    one_line_failure(run("unpack", *given, "-i", keys / "key", "-o", tmp_path / "dest"))
    assert files_under(tmp_path / "dest") == []


def test_forged_parity_on_a_spare_fails_authentication_and_salvage_keeps_the_intact(
    spare_set: list[Path], keys: Path, small_data: Path, tmp_path: Path
) -> None:
    """Keyless repair cannot tell forged parity (no key, no MAC); the archive can:
    unpack restores nothing, salvage restores exactly the members it authenticates."""
    paths = copy_of(spare_set, tmp_path / "in")
    poke(paths[3], HEADER_SIZE + 500_000, b"X" * 5000)
    given = [paths[0], paths[2], paths[3]]
    dest = tmp_path / "dest"
    line = one_line_failure(run("unpack", *given, "-i", keys / "key", "-o", dest))
    assert "failed authentication" in line
    assert files_under(dest) == []
    salvaged = tmp_path / "salvaged"
    result = run("unpack", "--salvage", *given, "-i", keys / "key", "-o", salvaged)
    assert result.returncode == 4, result.stderr
    assert files_under(salvaged) == ["data/b.txt"]
    assert (salvaged / "data" / "b.txt").read_bytes() == (small_data / "b.txt").read_bytes()


# -- the finder and the sender: salvage copies --------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"header_length": 1 << 40},
        {"header_length": 0},
        {"tail_offset": 1},
        {"tail_offset": 1 << 62},
        {"archive_length": 1 << 50},
        {"set_id": b"x" * 16},
    ],
    ids=lambda f: next(iter(f)),
)
def test_forged_copy_header_is_not_used(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path, fields: dict[str, int]
) -> None:
    _, original = copy_set
    paths = copy_of(original, tmp_path / "in")
    forge_copy(paths[0], **fields)
    dest = tmp_path / "dest"
    result = run("unpack", "--salvage", paths[0], "-i", keys / "key", "-o", dest)
    line = one_line_failure(result)
    assert "no salvage copy survives" in line
    assert files_under(dest) == []


@pytest.mark.parametrize("copy_length", [2048, 1 << 30])
def test_forged_copy_length_is_not_used(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path, copy_length: int
) -> None:
    _, original = copy_set
    paths = copy_of(original, tmp_path / "in")
    forge(paths[0], copy_length=copy_length)
    verify_failure(run_read_only(tmp_path / "t", "verify", paths[0]))
    dest = tmp_path / "dest"
    one_line_failure(run("unpack", "--salvage", paths[0], "-i", keys / "key", "-o", dest))
    assert files_under(dest) == []


def test_forged_copy_bytes_fail_authentication(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path
) -> None:
    """The index comes from the copy (volume 2 is lost): a forged byte there is
    an authentication failure, and nothing is restored."""
    _, original = copy_set
    paths = copy_of(original, tmp_path / "in")
    info = copy_info(paths[0])
    poke(
        paths[0],
        header_of(paths[0]).copy_offset + COPY_HEADER_SIZE + info.content_length - 3000,
        bytes(64),
    )
    dest = tmp_path / "dest"
    line = one_line_failure(run("unpack", "--salvage", paths[0], "-i", keys / "key", "-o", dest))
    assert "failed authentication" in line
    assert files_under(dest) == []


def test_a_copy_that_disagrees_with_its_volume_loses(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path
) -> None:
    """Both volumes present, the copy's archive header forged: the volume's bytes
    are read, the copy never; everything restores byte-identical."""
    data, original = copy_set
    paths = copy_of(original, tmp_path / "in")
    for path in paths:
        poke(path, header_of(path).copy_offset + COPY_HEADER_SIZE + 10, bytes(8))
    for salvage in ((), ("--salvage",)):
        dest = tmp_path / f"dest{len(salvage)}"
        result = run("unpack", *salvage, *paths, "-i", keys / "key", "-o", dest, "-q")
        assert result.returncode == 0, result.stderr
        for name in ("big.bin", "late.bin", "tiny.txt"):
            assert (dest / "data" / name).read_bytes() == (data / name).read_bytes()


def test_a_copy_from_another_archive_fails_authentication(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path
) -> None:
    """Another archive's copy block, relabelled with this set's id and length."""
    data, original = copy_set
    other = _pack(keys, data, tmp_path / "other", "10MB")
    paths = copy_of(original, tmp_path / "in")
    source = header_of(other[0])
    block = other[0].read_bytes()[source.copy_offset : source.copy_offset + source.copy_length]
    mine = header_of(paths[0])
    relabelled = dataclasses.replace(
        parse_copy_header(block[:COPY_HEADER_SIZE], "x"),
        set_id=mine.set_id,
        archive_length=mine.archive_length,
    )
    poke(
        paths[0],
        mine.copy_offset,
        (relabelled.pack() + block[COPY_HEADER_SIZE:])[: mine.copy_length],
    )
    dest = tmp_path / "dest"
    line = one_line_failure(run("unpack", "--salvage", paths[0], "-i", keys / "key", "-o", dest))
    assert "failed authentication" in line
    assert files_under(dest) == []


def test_salvage_honours_require_signer(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path
) -> None:
    data, paths = copy_set
    dest = tmp_path / "dest"
    other = ("--require-signer", keys / "other.pub")
    line = one_line_failure(
        run("unpack", "--salvage", paths[0], "-i", keys / "key", *other, "-o", dest)
    )
    assert "required signer" in line
    assert files_under(dest) == []
    result = run(
        "unpack", "--salvage", paths[0], "-i", keys / "key", "--require-signer",
        keys / "key.pub", "-o", dest,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    # Only the member wholly on volume 1: nothing partial under a real name.
    assert files_under(dest) == ["data/tiny.txt"]
    assert (dest / "data" / "tiny.txt").read_bytes() == (data / "tiny.txt").read_bytes()


# -- mix-ups ------------------------------------------------------------------


def test_a_spare_of_another_set_is_refused(
    spare_set: list[Path], other_spare_set: list[Path], keys: Path, tmp_path: Path
) -> None:
    given = [spare_set[0], spare_set[1], other_spare_set[3]]
    line = one_line_failure(run("unpack", *given, "-i", keys / "key", "-o", tmp_path / "d"))
    assert "belongs to another archive" in line
    assert files_under(tmp_path / "d") == []
    line = verify_failure(run_read_only(tmp_path / "t", "verify", *given))
    assert "belongs to another archive" in line
    out = tmp_path / "out"
    one_line_failure(run("repair", *given, "-o", out))
    assert files_under(out) == []


def test_the_same_spare_twice_is_refused(spare_set: list[Path], keys: Path, tmp_path: Path) -> None:
    twin = Path(shutil.copy2(spare_set[3], tmp_path / "twin.004"))
    given = [spare_set[0], spare_set[1], spare_set[3], twin]
    for args in (
        ("unpack", *given, "-i", keys / "key", "-o", tmp_path / "d"),
        ("repair", *given, "-o", tmp_path / "out"),
    ):
        line = one_line_failure(run(*args))
        assert "spare volume 1 of 1 was given more than once" in line
    assert files_under(tmp_path / "d") == [] and files_under(tmp_path / "out") == []


@pytest.mark.parametrize("alone", [0, 3])
def test_one_disc_alone_of_a_spare_set(
    spare_set: list[Path], keys: Path, tmp_path: Path, alone: int
) -> None:
    given = spare_set[alone]
    line = one_line_failure(run("unpack", given, "-i", keys / "key", "-o", tmp_path / "d"))
    assert "give at least 2 of them" in line
    verify_failure(run_read_only(tmp_path / "t", "verify", given))
    out = tmp_path / "out"
    assert "rebuild at most 1" in one_line_failure(run("repair", given, "-o", out))
    assert files_under(out) == []


def test_a_rebuilt_volume_fed_back(
    spare_set: list[Path], keys: Path, small_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    survivors = [spare_set[0], spare_set[2], spare_set[3]]
    assert run("repair", *survivors, "-o", out).returncode == 0
    rebuilt = out / spare_set[1].name
    assert rebuilt.read_bytes() == spare_set[1].read_bytes()
    dest = tmp_path / "dest"
    result = run("unpack", *survivors, rebuilt, "-i", keys / "key", "-o", dest, "-q")
    assert result.returncode == 0, result.stderr
    assert (dest / "data" / "a.bin").read_bytes() == (small_data / "a.bin").read_bytes()
    # Given again with the original it stands in for: a duplicate, refused.
    twice = [*spare_set, rebuilt]
    assert "was given more than once" in verify_failure(
        run_read_only(tmp_path / "t", "verify", *twice)
    )


def test_a_lost_member_never_replaces_an_existing_file(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path
) -> None:
    _, paths = copy_set
    dest = tmp_path / "dest"
    (dest / "data").mkdir(parents=True)
    (dest / "data" / "big.bin").write_bytes(b"mine\n")
    result = run("unpack", "--salvage", "--force", paths[0], "-i", keys / "key", "-o", dest)
    assert result.returncode == 4, result.stderr
    assert "lost: data/big.bin" in result.stderr
    assert (dest / "data" / "big.bin").read_bytes() == b"mine\n"
    assert files_under(dest) == ["data/big.bin", "data/tiny.txt"]


@pytest.mark.parametrize("where", ["header", "content"])
def test_verify_names_a_damaged_or_forged_salvage_copy(
    copy_set: tuple[Path, list[Path]], keys: Path, tmp_path: Path, where: str
) -> None:
    """A set whose copies are ruined is not a set that salvage can read: verify
    (keyless for the copy's own header, with -i for its bytes) says so."""
    _, original = copy_set
    paths = copy_of(original, tmp_path / "in")
    at = header_of(paths[1]).copy_offset + (9 if where == "header" else COPY_HEADER_SIZE + 10)
    poke(paths[1], at, b"Z")
    args = ("verify", *paths) if where == "header" else ("verify", "-i", keys / "key", *paths)
    line = verify_failure(run_read_only(tmp_path / "t", *args))
    assert "volume 2 of 2" in line and "salvage copy" in line, line


def test_repair_of_a_forged_spare_count_checks_the_room_first(
    spare_set: list[Path], tmp_path: Path
) -> None:
    """Headers forged to claim 253 spares would have ``repair`` rebuild 252
    "missing" spares; it measures the room first and writes nothing."""
    from archive_helpers import mounted_tmpfs

    paths = copy_of(spare_set, tmp_path / "in")
    for path in paths:
        forge(path, spares=253)
    mount = tmp_path / "small"
    mount.mkdir()
    with mounted_tmpfs(mount, "size=8m") as small:
        result = run("repair", *paths, "-o", small / "out")
        line = one_line_failure(result, code=1)
        assert "rebuilding 252 volume(s) needs about" in line and "nothing was written" in line
        assert files_under(small) == []
