"""The compatibility ZIP against real 7-Zip (/usr/bin/7zz) and our own reader.

No mocks: every ZIP here is written by pyzipper and read either by the 7-Zip
binary or by ``extract_compat_zip``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from archive_helpers import written_through_a_pipe, zip_around_tar

pyzipper = pytest.importorskip("pyzipper")
from pyzipper.zipfile_aes import WZ_AES_V2  # noqa: E402

from securemedia.compat_zip import (  # noqa: E402
    INNER_NAME,
    PASSPHRASE_BITS,
    extract_compat_zip,
    generate_passphrase,
    is_compat_zip,
    write_compat_zip,
    write_passphrase_file,
)
from securemedia.errors import (  # noqa: E402
    DestinationExistsError,
    FormatError,
    InputError,
    IntegrityError,
    NoIdentityError,
    UnsafeMemberError,
)

SEVEN_ZIP = shutil.which("7zz") or "/usr/bin/7zz"
needs_7zip = pytest.mark.skipif(not Path(SEVEN_ZIP).exists(), reason="7-Zip (7zz) not installed")

# Every name is long enough (>= 6 UTF-8 bytes) that finding it by chance in a few
# KiB of ciphertext is out of the question, so "absent from the raw bytes" is a
# real test. The non-ASCII ones carry æøå and ß.
NAMES = [
    "dataset-root",
    "notes-a.txt",
    "empty-file.bin",
    "nested-one",
    "nested-two",
    "æøå-kapitel.txt",
    "straße-liste.csv",
    "empty-folder",
    "single-top.txt",
]
MTIME = 1_700_000_000_123_456_789


def make_tree(base: Path) -> list[Path]:
    """Nested directories, an empty file, an empty directory, non-ASCII names."""
    root = base / "dataset-root"
    deep = root / "nested-one" / "nested-two"
    deep.mkdir(parents=True)
    (root / "empty-folder").mkdir()
    (root / "notes-a.txt").write_bytes(b"hello\n" * 1000)
    (root / "empty-file.bin").write_bytes(b"")
    (deep / "æøå-kapitel.txt").write_bytes(os.urandom(70_000))
    (root / "nested-one" / "straße-liste.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    top = base / "single-top.txt"
    top.write_bytes(b"top level file\n")
    os.chmod(root / "notes-a.txt", 0o640)
    os.chmod(root / "nested-one", 0o750)
    for i, path in enumerate(sorted(root.rglob("*"), reverse=True)):
        os.utime(path, ns=(MTIME + i, MTIME + i))
    os.utime(root, ns=(MTIME, MTIME))
    os.utime(top, ns=(MTIME - 5, MTIME - 5))
    return [root, top]


def snapshot(base: Path, names: list[str]) -> dict[str, tuple[bool, bytes, int, int]]:
    """Every path under ``base/<name>``: (is_dir, content, permission bits, mtime_ns)."""
    out: dict[str, tuple[bool, bytes, int, int]] = {}
    for name in names:
        top = base / name
        for path in [top, *sorted(top.rglob("*"))] if top.is_dir() else [top]:
            st = path.lstat()
            content = b"" if path.is_dir() else path.read_bytes()
            out[path.relative_to(base).as_posix()] = (
                path.is_dir(),
                content,
                stat.S_IMODE(st.st_mode),
                st.st_mtime_ns,
            )
    return out


def seven_zip(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SEVEN_ZIP, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.fixture
def packed(tmp_path: Path) -> tuple[Path, Path, list[Path], str]:
    """(source dir, zip path, inputs, passphrase)."""
    src = tmp_path / "src"
    src.mkdir()
    inputs = make_tree(src)
    passphrase = generate_passphrase()
    out = tmp_path / "out.zip"
    summary = write_compat_zip(inputs, out, passphrase)
    assert summary.path == out
    assert summary.zip_bytes == out.stat().st_size
    assert summary.files == 5 and summary.directories == 4
    return src, out, inputs, passphrase


# ------------------------------------------------------------------ real 7-Zip


@needs_7zip
def test_7zip_extracts_identical_tree(packed: tuple[Path, Path, list[Path], str]) -> None:
    src, out, inputs, passphrase = packed
    dest = out.parent / "by-7zip"
    dest.mkdir()
    first = seven_zip("x", str(out), f"-p{passphrase}", f"-o{dest}")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in dest.iterdir()) == [INNER_NAME]
    second = seven_zip("x", INNER_NAME, cwd=dest)
    assert second.returncode == 0, second.stderr
    (dest / INNER_NAME).unlink()
    names = [p.name for p in inputs]
    assert snapshot(dest, names) == snapshot(src, names)


@needs_7zip
def test_7zip_refuses_wrong_passphrase(packed: tuple[Path, Path, list[Path], str]) -> None:
    _, out, _, _ = packed
    dest = out.parent / "wrong"
    result = seven_zip("x", str(out), "-pnot-the-passphrase", f"-o{dest}")
    assert result.returncode != 0
    assert "Wrong password" in result.stdout + result.stderr


@needs_7zip
def test_listing_without_passphrase_shows_no_dataset_name(
    packed: tuple[Path, Path, list[Path], str],
) -> None:
    _, out, _, _ = packed
    listing = seven_zip("l", "-slt", str(out))
    assert listing.returncode == 0, listing.stderr
    text = listing.stdout
    raw = out.read_bytes()
    for name in NAMES:
        assert name not in text
        assert name.encode("utf-8") not in raw
    assert INNER_NAME in text
    assert "AES-256 Deflate" in text


def test_ae2_aes256_deflate_in_local_and_central_headers(
    packed: tuple[Path, Path, list[Path], str],
) -> None:
    """Parse the bytes: the 0x9901 extra must say AE-2, AES-256, deflate; CRC must be 0."""
    _, out, _, _ = packed
    raw = out.read_bytes()
    # Local file header.
    sig, _ver, flags, method, _t, _d, crc, _cs, _us, nlen, xlen = struct.unpack_from(
        "<IHHHHHIIIHH", raw, 0
    )
    assert sig == 0x04034B50 and flags & 1 and method == 99 and crc == 0
    assert raw[30 : 30 + nlen] == INNER_NAME.encode()
    local_extra = raw[30 + nlen : 30 + nlen + xlen]
    # Central directory header.
    cd = raw.index(b"PK\x01\x02")
    fields = struct.unpack_from("<IHHHHHHIIIHHHHHII", raw, cd)
    assert fields[3] & 1 and fields[4] == 99 and fields[7] == 0
    cnlen, cxlen = fields[10], fields[11]
    central_extra = raw[cd + 46 + cnlen : cd + 46 + cnlen + cxlen]
    for extra in (local_extra, central_extra):
        found = _extra_fields(extra)
        assert 0x9901 in found
        version, vendor, strength, real_method = struct.unpack("<H2sBH", found[0x9901])
        assert (version, vendor, strength, real_method) == (WZ_AES_V2, b"AE", 3, 8)


def _extra_fields(extra: bytes) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    pos = 0
    while pos + 4 <= len(extra):
        key, size = struct.unpack_from("<HH", extra, pos)
        fields[key] = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return fields


# --------------------------------------------------------------- our own reader


def test_our_extract_reads_it_back_identically(
    packed: tuple[Path, Path, list[Path], str],
) -> None:
    src, out, inputs, passphrase = packed
    assert is_compat_zip(out)
    dest = out.parent / "ours"
    written = extract_compat_zip(out, passphrase, dest)
    names = [p.name for p in inputs]
    assert snapshot(dest, names) == snapshot(src, names)
    assert set(written) == {dest / n for n in snapshot(src, names)}
    assert not [p for p in dest.iterdir() if p.name.startswith(".securemedia-partial-")]


def test_existing_destination_file_is_refused_without_force(
    packed: tuple[Path, Path, list[Path], str],
) -> None:
    _, out, _, passphrase = packed
    dest = out.parent / "ours"
    dest.mkdir()
    (dest / "single-top.txt").write_bytes(b"keep me")
    with pytest.raises(DestinationExistsError):
        extract_compat_zip(out, passphrase, dest)
    assert (dest / "single-top.txt").read_bytes() == b"keep me"
    assert sorted(p.name for p in dest.iterdir()) == ["single-top.txt"]
    extract_compat_zip(out, passphrase, dest, force=True)
    assert (dest / "single-top.txt").read_bytes() == b"top level file\n"


def test_wrong_passphrase_is_no_identity(packed: tuple[Path, Path, list[Path], str]) -> None:
    _, out, _, _ = packed
    dest = out.parent / "ours"
    with pytest.raises(NoIdentityError) as info:
        extract_compat_zip(out, generate_passphrase(), dest)
    assert info.value.exit_code == 3
    assert not dest.exists()


def _cipher_start(raw: bytes) -> int:
    nlen, xlen = struct.unpack_from("<HH", raw, 26)
    return 30 + nlen + xlen + 16 + 2  # after salt and password verifier


@pytest.mark.parametrize("where", ["first", "middle", "mac"])
def test_tampered_zip_is_integrity_error_and_leaves_nothing(
    packed: tuple[Path, Path, list[Path], str], where: str
) -> None:
    _, out, _, passphrase = packed
    raw = bytearray(out.read_bytes())
    start = _cipher_start(raw)
    end = raw.index(b"PK\x01\x02")  # the MAC is the 10 bytes before the central directory
    offset = {"first": start + 100, "middle": (start + end) // 2, "mac": end - 3}[where]
    raw[offset] ^= 0x01
    out.write_bytes(bytes(raw))
    dest = out.parent / "ours"
    with pytest.raises(IntegrityError) as info:
        extract_compat_zip(out, passphrase, dest)
    assert info.value.exit_code == 4
    assert not dest.exists()
    # An existing destination directory is left as it was: empty.
    dest.mkdir()
    with pytest.raises(IntegrityError):
        extract_compat_zip(out, passphrase, dest)
    assert list(dest.iterdir()) == []


def test_shortened_size_field_is_integrity_error(
    packed: tuple[Path, Path, list[Path], str],
) -> None:
    """Size fields are not covered by the MAC: a smaller one must not cut the tar short."""
    _, out, _, passphrase = packed
    raw = bytearray(out.read_bytes())
    cd = raw.index(b"PK\x01\x02")
    (size,) = struct.unpack_from("<I", raw, cd + 24)
    struct.pack_into("<I", raw, cd + 24, size - 10240)
    struct.pack_into("<I", raw, 22, size - 10240)
    out.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        extract_compat_zip(out, passphrase, out.parent / "ours")
    assert not (out.parent / "ours").exists()


# ------------------------------------------------------ hostile tar, valid zip


def _zip_of_tar(path: Path, passphrase: str, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    """A correctly encrypted ZIP (same parameters as ours) around a hand-made tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    zip_around_tar(path, passphrase, buf.getvalue())


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


HOSTILE = {
    "dotdot": [(_member("../escaped-x"), b"evil")],
    "absolute": [(_member("/tmp/absolute-x"), b"evil")],
    "symlink": [(_member("link-x", tarfile.SYMTYPE, "/etc/passwd"), b"")],
    "hardlink": [(_member("ok.txt"), b"ok"), (_member("hard-x", tarfile.LNKTYPE, "ok.txt"), b"")],
    "fifo": [(_member("fifo-x", tarfile.FIFOTYPE), b"")],
    "device": [(_member("dev-x", tarfile.CHRTYPE), b"")],
    "late-escape": [(_member("fine.txt"), b"fine"), (_member("a/../../escaped-x"), b"evil")],
    "case-duplicate": [(_member("Same.txt"), b"one"), (_member("same.txt"), b"two")],
    "exact-duplicate": [(_member("same.txt"), b"one"), (_member("same.txt"), b"two")],
    "file-then-inside": [(_member("plain"), b"one"), (_member("plain/inner"), b"two")],
    "dir-then-file": [(_member("both", tarfile.DIRTYPE), b""), (_member("BOTH"), b"two")],
    "nfd-duplicate": [
        (_member("stra\u00dfe-\u00e5"), b"1"),
        (_member("stra\u00dfe-a\u030a"), b"2"),
    ],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_members_are_refused_and_nothing_written(tmp_path: Path, case: str) -> None:
    passphrase = generate_passphrase()
    zpath = tmp_path / "hostile.zip"
    _zip_of_tar(zpath, passphrase, HOSTILE[case])
    dest = tmp_path / "box" / "dest"
    with pytest.raises(UnsafeMemberError) as info:
        extract_compat_zip(zpath, passphrase, dest)
    assert info.value.exit_code == 4
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["box", "hostile.zip"]


def test_intact_zip_with_other_layout_is_format_error(tmp_path: Path) -> None:
    passphrase = generate_passphrase()
    zpath = tmp_path / "other.zip"
    with pyzipper.AESZipFile(zpath, "w", encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(passphrase.encode())
        zf.writestr("secret-name.txt", b"x")
    assert is_compat_zip(zpath)
    with pytest.raises(FormatError):
        extract_compat_zip(zpath, passphrase, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_not_a_zip(tmp_path: Path) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"SMEDIA\x00\x01" + b"\x00" * 100)
    assert not is_compat_zip(other)


# ----------------------------------------------------------------- passphrase


def test_passphrase_has_at_least_128_bits_and_reads_aloud() -> None:
    pattern = re.compile(r"^[a-z2-7]{5}(-[a-z2-7]{5}){5}$")
    seen = set()
    for _ in range(50):
        phrase = generate_passphrase()
        assert pattern.match(phrase)
        seen.add(phrase)
    assert len(seen) == 50
    # 30 symbols drawn uniformly (secrets.choice) from a 32-symbol alphabet.
    assert PASSPHRASE_BITS == 30 * 5 >= 128


def test_passphrase_file_mode_0600_and_no_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "pass.txt"
    old_umask = os.umask(0)
    try:
        write_passphrase_file(target, "abcde-fghij")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "abcde-fghij\n"
    with pytest.raises(DestinationExistsError):
        write_passphrase_file(target, "other")
    assert target.read_text() == "abcde-fghij\n"
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DestinationExistsError):
        write_passphrase_file(link, "other")
    assert not (tmp_path / "elsewhere").exists()


# ------------------------------------------------------------------ writing


def test_symlink_input_is_refused_and_no_zip_left(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.txt").write_text("x")
    (src / "link.txt").symlink_to(src / "real.txt")
    out = tmp_path / "out.zip"
    with pytest.raises(InputError):
        write_compat_zip([src], out, generate_passphrase())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_existing_output_refused_unless_force(packed: tuple[Path, Path, list[Path], str]) -> None:
    _, out, inputs, _ = packed
    before = out.read_bytes()
    with pytest.raises(DestinationExistsError):
        write_compat_zip(inputs, out, generate_passphrase())
    assert out.read_bytes() == before
    write_compat_zip(inputs, out, "new-passphrase-for-test", force=True)
    assert out.read_bytes() != before
    extract_compat_zip(out, "new-passphrase-for-test", out.parent / "again")


def test_write_to_unseekable_stream(tmp_path: Path) -> None:
    """A pipe cannot seek back: pyzipper then uses a data descriptor; still AE-2."""
    src = tmp_path / "src"
    src.mkdir()
    inputs = make_tree(src)
    passphrase = generate_passphrase()
    data, summary = written_through_a_pipe(lambda w: write_compat_zip(inputs, w, passphrase))
    out = tmp_path / "piped.zip"
    out.write_bytes(data)
    assert summary.zip_bytes == out.stat().st_size
    names = [p.name for p in inputs]
    extract_compat_zip(out, passphrase, tmp_path / "ours")
    assert snapshot(tmp_path / "ours", names) == snapshot(src, names)


# ------------------------------------------------------------------------ CLI

SRC_DIR = Path(__file__).resolve().parents[1] / "src"


def run_cli(
    *args: str, cwd: Path, passphrase: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREMEDIA_")}
    env["PYTHONPATH"] = str(SRC_DIR)
    if passphrase is not None:
        env["SECUREMEDIA_PASSPHRASE"] = passphrase
    code = "import sys; from securemedia.cli.main import main; main(sys.argv[1:])"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


@pytest.fixture
def cli_packed(tmp_path: Path) -> tuple[Path, list[str], str]:
    """(work dir, input names, passphrase) after `securemedia pack --format zip`."""
    inputs = make_tree(tmp_path)
    names = [p.name for p in inputs]
    result = run_cli(
        "pack",
        *names,
        "-o",
        "out.zip",
        "--format",
        "zip",
        "--passphrase-out",
        "pass.txt",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    pass_file = tmp_path / "pass.txt"
    assert stat.S_IMODE(pass_file.stat().st_mode) == 0o600
    passphrase = pass_file.read_text().strip()
    assert passphrase not in result.stdout + result.stderr
    return tmp_path, names, passphrase


def test_cli_pack_then_unpack(cli_packed: tuple[Path, list[str], str]) -> None:
    work, names, passphrase = cli_packed
    result = run_cli("unpack", "out.zip", "-o", "dest", cwd=work, passphrase=passphrase)
    assert result.returncode == 0, result.stderr
    assert snapshot(work / "dest", names) == snapshot(work, names)


def test_cli_unpack_wrong_passphrase_exit_3(cli_packed: tuple[Path, list[str], str]) -> None:
    work, _, _ = cli_packed
    result = run_cli("unpack", "out.zip", "-o", "dest", cwd=work, passphrase="wrong-one")
    assert result.returncode == 3
    assert not (work / "dest").exists()


def test_cli_unpack_tampered_exit_4(cli_packed: tuple[Path, list[str], str]) -> None:
    work, _, passphrase = cli_packed
    raw = bytearray((work / "out.zip").read_bytes())
    raw[_cipher_start(raw) + 2000] ^= 0x80
    (work / "out.zip").write_bytes(bytes(raw))
    result = run_cli("unpack", "out.zip", "-o", "dest", cwd=work, passphrase=passphrase)
    assert result.returncode == 4
    assert not (work / "dest").exists()


@pytest.mark.parametrize(
    "extra",
    [
        [],  # no --passphrase-out: the passphrase would be lost
        ["--passphrase-out", "p", "--iso"],
        ["--passphrase-out", "p", "--media", "cd"],
        ["--passphrase-out", "p", "-r", "some-key"],
        ["--passphrase-out", "p", "--passphrase"],
    ],
)
def test_cli_pack_zip_usage_errors_exit_2(tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = run_cli("pack", "file.txt", "-o", "o.zip", "--format", "zip", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_cli_passphrase_out_existing_file_refused(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "p").write_text("old")
    result = run_cli(
        "pack", "file.txt", "-o", "o.zip", "--format", "zip", "--passphrase-out", "p", cwd=tmp_path
    )
    assert result.returncode == 1
    assert (tmp_path / "p").read_text() == "old"
    assert not (tmp_path / "o.zip").exists()


def test_cli_passphrase_to_stdout_when_asked(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = run_cli(
        "pack", "file.txt", "-o", "o.zip", "--format", "zip", "--passphrase-out", "-", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    passphrase = result.stdout.strip()
    assert re.fullmatch(r"[a-z2-7]{5}(-[a-z2-7]{5}){5}", passphrase)
    extract_compat_zip(tmp_path / "o.zip", passphrase, tmp_path / "dest")
    assert (tmp_path / "dest" / "file.txt").read_text() == "x"
