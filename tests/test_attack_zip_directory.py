"""Round-2 attack: a finder's ZIP whose central directory lists a huge number
of entries is refused from its end record, before pyzipper builds an object
per entry (it reads the whole directory into memory first)."""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from conftest import RunCli
from securemedia.compat_zip import describe_compat_zip
from securemedia.errors import FormatError

ENTRIES = 20_000
_EOCD = struct.Struct("<4s4H2LH")


def _many_entries(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("dataset.tar", b"")
        for i in range(1, ENTRIES):
            zf.writestr(f"x{i}", b"")
    return path


def _claiming_one_entry(path: Path) -> Path:
    """The same directory, with the end record's counts set to 1 (pyzipper
    parses the directory by its byte size, not by the count)."""
    data = bytearray(path.read_bytes())
    end = len(data) - _EOCD.size
    sig, disk, cd_disk, _n_disk, _n, size, offset, comment = _EOCD.unpack_from(data, end)
    _EOCD.pack_into(data, end, sig, disk, cd_disk, 1, 1, size, offset, comment)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("forge", [False, True], ids=["counted", "count-forged-to-1"])
def test_a_directory_of_many_entries_is_refused_before_it_is_parsed(
    tmp_path: Path, forge: bool
) -> None:
    path = _many_entries(tmp_path / "found.zip")
    if forge:
        path = _claiming_one_entry(path)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="its directory lists") as caught:
            describe_compat_zip(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "not a securemedia compatibility ZIP" in str(caught.value)
    # Parsing 20,000 entries costs megabytes; reading the end record, kilobytes.
    assert peak < 1 << 20, peak


def test_the_cli_says_what_it_found(tmp_path: Path, run_cli: RunCli) -> None:
    path = _many_entries(tmp_path / "found.zip")
    result = run_cli("inspect", path)
    assert result.code == FormatError.exit_code
    assert f"lists {ENTRIES} entries" in result.stderr
