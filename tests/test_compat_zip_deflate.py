"""Issue 11: the compatibility ZIP is deflated (WinZip AES method 99 over deflate, 8).

Real 7-Zip (/usr/bin/7zz) must open it and give the same bytes; our reader must
read it and must not let the unauthenticated size fields cut the tar short.
"""

from __future__ import annotations

import io
import os
import struct
import tarfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

pyzipper = pytest.importorskip("pyzipper")
from pyzipper.zipfile_aes import WZ_AES_V2, AESZipInfo  # noqa: E402

from archive_helpers import written_through_a_pipe  # noqa: E402
from securemedia.compat_zip import (  # noqa: E402
    INNER_NAME,
    describe_compat_zip,
    extract_compat_zip,
    generate_passphrase,
    list_compat_zip,
    write_compat_zip,
)
from securemedia.errors import IntegrityError  # noqa: E402
from test_compat_zip import needs_7zip, seven_zip  # noqa: E402


def _registry_rows(count: int) -> bytes:
    """CSV rows shaped like the registry export: compressible, not trivially so."""
    rng = os.urandom(count * 4)
    rows = [b"person_id,birth_year,sex,municipality,icd10,cost\n"]
    for i in range(count):
        r = rng[i * 4 : i * 4 + 4]
        rows.append(
            b"%010x,%d,%s,%d,K%02d.%d,%d.00\n"
            % (
                int.from_bytes(r, "big"),
                1930 + r[0] % 80,
                b"FM"[r[1] % 2 :][:1],
                1000 + r[2] * 7,
                r[3] % 99,
                r[0] % 10,
                r[1] * 997,
            )
        )
    return b"".join(rows)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "export-2015"
    (root / "sub-folder").mkdir(parents=True)
    (root / "registry-rows.csv").write_bytes(_registry_rows(40_000))
    (root / "sub-folder" / "random-part.bin").write_bytes(os.urandom(300_000))
    (root / "sub-folder" / "empty-member.txt").write_bytes(b"")
    return root


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root.parent).as_posix(): None if p.is_dir() else p.read_bytes()
        for p in [root, *root.rglob("*")]
    }


def _7zip_extract(zpath: Path, passphrase: str, dest: Path) -> None:
    dest.mkdir()
    first = seven_zip("x", str(zpath), f"-p{passphrase}", f"-o{dest}")
    assert first.returncode == 0, first.stdout + first.stderr
    second = seven_zip("x", INNER_NAME, cwd=dest)
    assert second.returncode == 0, second.stdout + second.stderr
    (dest / INNER_NAME).unlink()


@needs_7zip
@pytest.mark.parametrize("compress", [True, False])
def test_7zip_and_our_reader_give_the_same_bytes(
    tmp_path: Path, dataset: Path, compress: bool
) -> None:
    passphrase = generate_passphrase()
    zpath = tmp_path / "ship.zip"
    summary = write_compat_zip([dataset], zpath, passphrase, compress=compress)
    content = summary.content_bytes
    if compress:
        # The CSV deflates; the random part does not: well under the content.
        assert summary.zip_bytes < 0.75 * content
    else:
        assert summary.zip_bytes > content
    listing = seven_zip("l", "-slt", str(zpath))
    assert ("AES-256 Deflate" if compress else "AES-256 Store") in listing.stdout
    raw = zpath.read_bytes()
    for name in ("export-2015", "registry-rows", "random-part", "empty-member"):
        assert name not in listing.stdout
        assert name.encode() not in raw
    tested = seven_zip("t", str(zpath), f"-p{passphrase}")
    assert tested.returncode == 0 and "Everything is Ok" in tested.stdout, tested.stdout
    _7zip_extract(zpath, passphrase, tmp_path / "by-7zip")
    assert _tree(tmp_path / "by-7zip" / "export-2015") == _tree(dataset)
    extract_compat_zip(zpath, passphrase, tmp_path / "ours")
    assert _tree(tmp_path / "ours" / "export-2015") == _tree(dataset)
    facts = describe_compat_zip(zpath)
    assert facts.method == ("deflate" if compress else "stored")


@needs_7zip
def test_7zip_reads_a_deflated_zip_written_to_a_pipe(tmp_path: Path, dataset: Path) -> None:
    """Unseekable output: sizes go into a data descriptor after the data."""
    passphrase = generate_passphrase()
    data, _ = written_through_a_pipe(lambda w: write_compat_zip([dataset], w, passphrase))
    zpath = tmp_path / "piped.zip"
    zpath.write_bytes(data)
    _7zip_extract(zpath, passphrase, tmp_path / "by-7zip")
    assert _tree(tmp_path / "by-7zip" / "export-2015") == _tree(dataset)
    assert describe_compat_zip(zpath).method == "deflate"
    assert len(list_compat_zip(zpath, passphrase)) == 5


def test_progress_reports_every_input_byte(tmp_path: Path, dataset: Path) -> None:
    seen: list[int] = []
    steps: list[tuple[str, int | None]] = []

    def phases(label: str, total: int | None) -> Callable[[int], None]:
        steps.append((label, total))
        return seen.append

    summary = write_compat_zip([dataset], tmp_path / "p.zip", generate_passphrase(), phases=phases)
    assert steps == [("packing", summary.content_bytes)]
    assert sum(seen) == summary.content_bytes > 0
    assert len(seen) >= 2  # reported as it goes, not once at the end


def test_deflating_streams_in_bounded_memory(tmp_path: Path) -> None:
    """24 MiB of input, ~9 MiB of ZIP: holding either whole would pass 8 MiB (the
    pieces are 1 MiB; measured peak about 6 MiB)."""
    big = tmp_path / "big.csv"
    block = _registry_rows(20_000)
    with big.open("wb") as out:
        while out.tell() < 24 << 20:
            out.write(block)
    tracemalloc.start()
    try:
        write_compat_zip([big], tmp_path / "big.zip", generate_passphrase())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak


# ------------------------------------------------- size fields the MAC does not cover


def _deflated_zip_of(path: Path, passphrase: str, tar_bytes: bytes) -> None:
    """Our parameters (AE-2, AES-256, deflate) around ``tar_bytes``."""
    with pyzipper.AESZipFile(
        path,
        "w",
        compression=pyzipper.ZIP_DEFLATED,
        encryption=pyzipper.WZ_AES,
        encryption_kwargs={"nbits": 256, "force_wz_aes_version": WZ_AES_V2},
    ) as zf:
        zf.setpassword(passphrase.encode())
        zinfo = AESZipInfo(INNER_NAME)
        zinfo.compress_type = pyzipper.ZIP_DEFLATED
        zf.writestr(zinfo, tar_bytes)


def _set_declared_size(path: Path, size: int) -> None:
    """Change the plaintext size in the local header and the central directory."""
    raw = bytearray(path.read_bytes())
    cd = raw.index(b"PK\x01\x02")
    struct.pack_into("<I", raw, 22, size)
    struct.pack_into("<I", raw, cd + 24, size)
    path.write_bytes(bytes(raw))


def _small_tar() -> tuple[bytes, int]:
    """A tar of three small members and the offset where its last member starts."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("first.txt", "second.txt", "last-one.txt"):
            info = tarfile.TarInfo(name)
            data = name.encode() * 20
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        last = tar.getmembers()[-1].offset
    return raw, last


@pytest.mark.parametrize("where", ["drop-last-member", "drop-end-blocks", "raised"])
def test_forged_declared_size_is_integrity_error(tmp_path: Path, where: str) -> None:
    """The whole compressed stream fits in one read: cutting the plaintext short
    would leave the MAC intact, so the reader must not trust the size field."""
    passphrase = generate_passphrase()
    tar_bytes, last = _small_tar()
    zpath = tmp_path / "forged.zip"
    _deflated_zip_of(zpath, passphrase, tar_bytes)
    assert [m.path for m in list_compat_zip(zpath, passphrase)][-1] == "last-one.txt"
    size = {"drop-last-member": last, "drop-end-blocks": len(tar_bytes) - 1024}
    _set_declared_size(zpath, size.get(where, len(tar_bytes) + 512))
    with pytest.raises(IntegrityError):
        list_compat_zip(zpath, passphrase)
    with pytest.raises(IntegrityError):
        extract_compat_zip(zpath, passphrase, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_declared_size_beyond_deflate_expansion_refused_without_passphrase(
    tmp_path: Path,
) -> None:
    zpath = tmp_path / "bomb.zip"
    _deflated_zip_of(zpath, "pw", _small_tar()[0])
    _set_declared_size(zpath, 0xFFFF_FFF0)
    with pytest.raises(IntegrityError):
        describe_compat_zip(zpath)
