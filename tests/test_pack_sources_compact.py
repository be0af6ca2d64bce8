"""The input scan holds one Source per file, so a Source keeps no Path of its
own: ``path`` is rebuilt from the input it was found under and the member name.
It must be exactly the path the walk saw (``input / a / b``), whatever the
spelling of the input. The memory is measured by ``benchmarks/memory.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from securemedia.archive.sources import OwnFiles, Source, scan_inputs, scan_path


def _tree(base: Path) -> Path:
    top = base / "export"
    for rel in ("a/b c/Ærlig ø.csv", "a/x", "日本/データ", "z.bin", "a/b c/.hidden"):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(b"1")
    return top


def _expected(root: Path, name: str, top: str) -> Path:
    path = root
    for part in name.split("/")[1:] if name != top else []:
        path = path / part
    return path


def test_source_keeps_no_path_object() -> None:
    assert "path" not in Source.__slots__


@pytest.mark.parametrize("spelling", ["export", "./export", "export/", "ABS", "."])
def test_rebuilt_path_is_the_walked_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    top = _tree(tmp_path)
    if spelling == ".":
        monkeypatch.chdir(top)
    else:
        monkeypatch.chdir(tmp_path)
    root = top if spelling == "ABS" else Path(spelling)
    sources = scan_inputs([root], exclude=OwnFiles())
    assert len(sources) == 9 and not hasattr(sources[0], "__dict__")
    for source in sources:
        assert source.path == _expected(root, source.name, "export")
        assert str(source.path) == str(_expected(root, source.name, "export"))
        st = os.lstat(source.path)
        assert (st.st_dev, st.st_ino) == (source.dev, source.ino)


def test_scan_path_under_another_name(tmp_path: Path) -> None:
    top = _tree(tmp_path)
    for source in scan_path(top, "renamed"):
        assert source.path == _expected(top, source.name, "renamed")
        assert os.lstat(source.path).st_ino == source.ino
