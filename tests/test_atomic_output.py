"""Issue #9, predictable temporary names: every output goes through the one
primitive in ``securemedia.atomic``, which creates its temporaries exclusively
(never following a link a neighbour planted), gives the final name only to a
complete file, never replaces what appeared meanwhile without ``force``, and
leaves nothing behind on any exception.

The victim in these tests is a private (0600) file elsewhere, as a root-only
file would be; when the suite runs as root the writes really could have
reached it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import KeyFiles, RunCli
from securemedia.atomic import StagingDirectory, atomic_output, temporary_prefix
from securemedia.compat_zip import write_compat_zip, write_passphrase_file
from securemedia.errors import DestinationExistsError, OperationalError
from securemedia.keys import SecretKey

SECRET = b"root-only: must never change\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    path = elsewhere / "shadow"
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return path


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def untouched(victim: Path) -> bool:
    st = victim.stat()
    return victim.read_bytes() == SECRET and stat.S_IMODE(st.st_mode) == 0o600


def leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name not in keep)


# -- keygen: the finding -------------------------------------------------------------


def test_keygen_follows_no_link_planted_at_any_predictable_name(
    tmp_path: Path, victim: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    # Every name a key-saving writer has used or might plausibly use.
    for name in ("k.pub.tmp", "k.tmp", ".k.tmp", ".k.pub.tmp", f".k.{os.getpid() + 1}.tmp"):
        (out / name).symlink_to(victim)
    result = run_cli("keygen", "--no-passphrase", "--classic", "-o", out / "k")
    assert result.code == 0, result.stderr
    assert untouched(victim)
    assert stat.S_IMODE((out / "k").stat().st_mode) == 0o600
    assert (out / "k.pub").read_text().count("smpub1-x25519-") == 1
    assert not (out / "k").is_symlink() and not (out / "k.pub").is_symlink()
    # The planted links are left alone, and nothing else was left behind.
    assert leftovers(out, "k", "k.pub") == sorted(
        ["k.pub.tmp", "k.tmp", ".k.tmp", ".k.pub.tmp", f".k.{os.getpid() + 1}.tmp"]
    )


@pytest.mark.parametrize("target", ["k", "k.pub"])
def test_keygen_link_at_a_target_is_refused_or_replaced_never_followed(
    tmp_path: Path, victim: Path, target: str, run_cli: RunCli
) -> None:
    (tmp_path / target).symlink_to(victim)
    refused = run_cli("keygen", "--no-passphrase", "--classic", "-o", tmp_path / "k")
    assert refused.code != 0
    assert "already exists" in refused.stderr
    assert untouched(victim)
    # Neither file appeared: a key pair is written whole or not at all.
    assert leftovers(tmp_path, "elsewhere") == [target]
    forced = run_cli("keygen", "--no-passphrase", "--classic", "--force", "-o", tmp_path / "k")
    assert forced.code == 0, forced.stderr
    assert untouched(victim)
    assert not (tmp_path / target).is_symlink()
    assert leftovers(tmp_path, "elsewhere") == ["k", "k.pub"]


def test_key_files_modes(tmp_path: Path, umask_027: None) -> None:
    SecretKey.generate(classic=True).save(tmp_path / "k", None)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "k.pub").stat().st_mode) == 0o640


# -- the primitive -------------------------------------------------------------------


def test_output_mode_honours_the_umask(tmp_path: Path, umask_027: None) -> None:
    with atomic_output(tmp_path / "a.sm") as out:
        out.write(b"archive")
        # While written, the temporary is private whatever the umask.
        [tmp] = [p for p in tmp_path.iterdir() if p.name.startswith(temporary_prefix("a.sm"))]
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a.sm").stat().st_mode) == 0o640
    with atomic_output(tmp_path / "secret", private=True, durable=True) as out:
        out.write(b"key")
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert leftovers(tmp_path) == ["a.sm", "secret"]


def test_link_at_the_target_is_refused_even_dangling(tmp_path: Path, victim: Path) -> None:
    for pointee in (victim, tmp_path / "nowhere"):
        link = tmp_path / "out.sm"
        link.symlink_to(pointee)
        with pytest.raises(DestinationExistsError), atomic_output(link) as out:
            out.write(b"x")
        assert link.is_symlink()
        link.unlink()
    assert untouched(victim)
    assert leftovers(tmp_path, "elsewhere") == []


def test_force_replaces_the_link_itself(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out.sm"
    link.symlink_to(victim)
    with atomic_output(link, force=True) as out:
        out.write(b"new")
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert untouched(victim)


def test_a_file_that_appears_meanwhile_is_never_replaced(tmp_path: Path, victim: Path) -> None:
    target = tmp_path / "out.sm"
    with pytest.raises(DestinationExistsError), atomic_output(target) as out:
        out.write(b"ours")
        target.write_bytes(b"theirs")  # a neighbour, between our check and our rename
    assert target.read_bytes() == b"theirs"
    with pytest.raises(DestinationExistsError), atomic_output(target.with_name("b")) as out:
        out.write(b"ours")
        target.with_name("b").symlink_to(victim)
    assert untouched(victim)
    assert leftovers(tmp_path, "elsewhere") == ["b", "out.sm"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, SystemExit, OSError])
def test_any_exception_removes_the_temporary(tmp_path: Path, exc: type[BaseException]) -> None:
    with pytest.raises(exc), atomic_output(tmp_path / "out.sm") as out:
        out.write(b"half")
        raise exc()
    assert leftovers(tmp_path) == []


def test_missing_directory_is_an_operational_error(tmp_path: Path) -> None:
    with pytest.raises(OperationalError), atomic_output(tmp_path / "no" / "out.sm"):
        pass


def test_compat_zip_and_passphrase_file_never_follow_links(tmp_path: Path, victim: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("rows\n")
    out = tmp_path / "x.zip"
    out.symlink_to(victim)
    with pytest.raises(DestinationExistsError):
        write_compat_zip([data], out, "abcde-fghij")
    write_compat_zip([data], out, "abcde-fghij", force=True)
    assert not out.is_symlink() and out.stat().st_size > 0
    phrase = tmp_path / "pass.txt"
    phrase.symlink_to(victim)
    with pytest.raises(DestinationExistsError):
        write_passphrase_file(phrase, "abcde-fghij")
    assert untouched(victim)
    assert leftovers(tmp_path, "elsewhere") == ["data.txt", "pass.txt", "x.zip"]


# -- groups: all or none ---------------------------------------------------------------


def test_group_appears_whole_or_not_at_all(tmp_path: Path, victim: Path) -> None:
    (tmp_path / "s.003").symlink_to(victim)
    with StagingDirectory(tmp_path, "s") as staging:
        for n in (1, 2, 3):
            with staging.create(f"v{n}") as handle:
                handle.write(b"volume %d" % n)
        with pytest.raises(DestinationExistsError):
            staging.publish([(f"v{n}", f"s.00{n}") for n in (1, 2, 3)])
    assert untouched(victim)
    assert leftovers(tmp_path, "elsewhere") == ["s.003"]
    (tmp_path / "s.003").unlink()
    with StagingDirectory(tmp_path, "s") as staging:
        for n in (1, 2, 3):
            with staging.create(f"v{n}") as handle:
                handle.write(b"volume %d" % n)
        paths = staging.publish([(f"v{n}", f"s.00{n}") for n in (1, 2, 3)])
    assert [p.read_bytes() for p in paths] == [b"volume 1", b"volume 2", b"volume 3"]
    assert leftovers(tmp_path, "elsewhere") == ["s.001", "s.002", "s.003"]


def test_staging_directory_cannot_be_swapped_for_a_link(tmp_path: Path, victim: Path) -> None:
    """A neighbour renames the staging directory away and puts a link to their
    chosen directory in its place: files made by path still land in ours."""
    with StagingDirectory(tmp_path, "s") as staging:
        [name] = [p.name for p in tmp_path.iterdir() if p.name.startswith(temporary_prefix("s"))]
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o700
        (tmp_path / name).rename(tmp_path / "moved")
        (tmp_path / name).symlink_to(victim.parent)
        if str(staging.path).startswith("/proc/"):
            (staging.path / "shadow.new").write_bytes(b"ours")
            assert (tmp_path / "moved" / "shadow.new").read_bytes() == b"ours"
        with staging.create("made") as handle:
            handle.write(b"ours")
        assert (tmp_path / "moved" / "made").exists()
    assert sorted(os.listdir(victim.parent)) == ["shadow"]
    assert untouched(victim)


# -- pack, plain and to discs ------------------------------------------------------------


def test_pack_outputs_never_follow_links(
    tmp_path: Path, victim: Path, run_cli: RunCli, make_keys: Callable[..., KeyFiles]
) -> None:
    key = make_keys("office", classic=True)
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(2_500_000))
    pack = ["pack", data, "-r", key.pub_path, "--no-compress", "-q"]
    plain = tmp_path / "a.sm"
    plain.symlink_to(victim)
    assert run_cli(*pack, "-o", plain).code != 0
    assert run_cli(*pack, "-o", plain, "--force").code == 0
    assert not plain.is_symlink()
    later = tmp_path / "ship.sm.002.iso"  # a later volume: found only when the set is done
    later.symlink_to(victim)
    media = [*pack, "-o", tmp_path / "ship.sm", "--media", "2MB", "--iso"]
    refused = run_cli(*media)
    assert refused.code != 0
    assert "ship.sm.002.iso already exists" in refused.stderr
    assert not list(tmp_path.glob("ship.sm.00[13]*")) and later.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    forced = run_cli(*media, "--force")
    assert forced.code == 0, forced.stderr
    assert not later.is_symlink()
    assert untouched(victim)


def test_a_full_disk_keeps_the_first_reason(tmp_path: Path) -> None:
    """Ctrl-C while bytes are still buffered on a full disk: the temporary goes,
    and the interrupt - not the failed flush on the way out - is what surfaces."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "out.sm") as out:
        out.write(b"x" * 100)  # buffered, not yet written
        full = os.open("/dev/full", os.O_WRONLY)  # a device every write to fails: ENOSPC
        os.dup2(full, out.fileno())
        os.close(full)
        raise KeyboardInterrupt
    assert leftovers(tmp_path) == []
