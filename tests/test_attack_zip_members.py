"""Round-2 attack: the tar inside a compatibility ZIP is held to the native
format's member limit (a tar of empty members deflates about 1000:1, so the
declared-size budget alone let a small ZIP list billions of members)."""

from __future__ import annotations

from pathlib import Path

import pytest

from securemedia.compat_zip import extract_compat_zip, list_compat_zip, write_compat_zip
from securemedia.compat_zip import reader as zip_reader
from securemedia.errors import FormatError

PASSPHRASE = "a generated passphrase for this test only"


def test_more_tar_members_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(12):
        (data / f"f{i:02}.csv").write_bytes(b"")
    out = tmp_path / "ship.zip"
    write_compat_zip([data], out, PASSPHRASE)
    assert len(list_compat_zip(out, PASSPHRASE)) == 13  # the folder and 12 files
    monkeypatch.setattr(zip_reader, "MAX_TAR_MEMBERS", 10)  # the limit, scaled down
    with pytest.raises(FormatError, match="more than 10 members"):
        list_compat_zip(out, PASSPHRASE)
    with pytest.raises(FormatError, match="more than 10 members"):
        extract_compat_zip(out, PASSPHRASE, tmp_path / "dest")
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir())
