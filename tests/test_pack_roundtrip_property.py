"""Issue 9, "pack never produces an archive it cannot open": a property test.

Hypothesis generates file trees with odd but valid names (Unicode, combining
marks, spaces, leading dots, long components, deep paths), modes, times with
nanoseconds, and empty files; the real CLI packs and unpacks each tree, and
the result must be identical: names, bytes, modes (masked by the umask) and
modification times to the nanosecond.

Kept to a modest number of examples: every example runs two CLI processes.
"""

from __future__ import annotations

import os
import stat
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import KeyFiles, _make_keys, run_cli_in
from securemedia.archive.paths import validate_member_name
from securemedia.errors import UnsafeMemberError

# Times before 1970 (down to 1901, the oldest ext4 holds): the format's times
# are signed 64-bit nanoseconds (issue 9). Both switches are on since the
# reader and extraction work merged; False narrows the generated trees.
PRE_1970 = True
# Modes with bits the umask removes (0o666, 0o777...): extracted modes are masked.
UMASK_MODES = True

UMASK = 0o022
EXAMPLES = 20
OLDEST_NS = -(2**31) * 10**9  # 1901-12-13, ext4's lower limit
NEWEST_NS = 2**33 * 10**9  # 2242, inside the format's signed 64-bit nanoseconds

# Letters that exercise encodings, case folding and normalisation, plus the
# punctuation real exports contain.
ALPHABET = "abcxyzABCXYZ0189 -_.,()[]{}'+=@#~%&!æøåÆßéÅ日本語Ωжя😀\u0301"


def _valid_component(text: str) -> bool:
    try:
        validate_member_name(text)
    except UnsafeMemberError:
        return False
    return "/" not in text


component = st.one_of(
    st.text(ALPHABET, min_size=1, max_size=24),
    st.text(ALPHABET, min_size=100, max_size=200).filter(lambda t: len(t.encode()) <= 255),
    st.sampled_from([".hidden", "..dots", "a.b.c", " lead", "COM10", "nul-ish"]),
).filter(_valid_component)

file_modes = (0o600, 0o640, 0o644, 0o700, 0o750, 0o755, 0o400, 0o444)
dir_modes = (0o700, 0o750, 0o755)
if UMASK_MODES:
    file_modes += (0o664, 0o666, 0o777, 0o646)
    dir_modes += (0o775, 0o777)

times = st.integers(OLDEST_NS if PRE_1970 else 0, NEWEST_NS)


@dataclass
class Node:
    """A directory of the generated tree; files are (content, mode, mtime_ns)."""

    mode: int
    mtime_ns: int
    dirs: dict[str, Node] = field(default_factory=dict)
    files: dict[str, tuple[bytes, int, int]] = field(default_factory=dict)
    # NFC + casefold of every name here: two names equal under it are one name
    # on NTFS and APFS, and the writer refuses them.
    keys: set[str] = field(default_factory=set)


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


@st.composite
def trees(draw: st.DrawFn) -> Node:
    root = Node(draw(st.sampled_from(dir_modes)), draw(times))
    paths = draw(st.lists(st.lists(component, min_size=1, max_size=5), max_size=10))
    if draw(st.booleans()):
        paths.append(["deep"] * draw(st.integers(10, 30)) + ["bottom.txt"])
    for parts in paths:
        node = root
        for part in parts[:-1]:
            if part in node.dirs:
                node = node.dirs[part]
            elif _key(part) in node.keys:
                break  # a file, or a directory spelled differently: skip this path
            else:
                node.keys.add(_key(part))
                node = node.dirs.setdefault(
                    part, Node(draw(st.sampled_from(dir_modes)), draw(times))
                )
        else:
            leaf = parts[-1]
            if _key(leaf) in node.keys:
                continue
            node.keys.add(_key(leaf))
            if draw(st.integers(0, 5)) == 0:  # now and then an empty directory
                node.dirs[leaf] = Node(draw(st.sampled_from(dir_modes)), draw(times))
            else:
                content = draw(st.one_of(st.just(b""), st.binary(max_size=3000)))
                node.files[leaf] = (content, draw(st.sampled_from(file_modes)), draw(times))
    return root


def _create(path: Path, node: Node) -> None:
    path.mkdir()
    for name, (content, mode, mtime_ns) in node.files.items():
        target = path / name
        target.write_bytes(content)
        target.chmod(mode)
        os.utime(target, ns=(mtime_ns, mtime_ns))
    for name, child in node.dirs.items():
        _create(path / name, child)
    # Last: creating children changed the directory's own time.
    path.chmod(node.mode)
    os.utime(path, ns=(node.mtime_ns, node.mtime_ns))


def _snapshot(root: Path) -> dict[str, tuple[str, bytes, int, int]]:
    """Every path under (and including) ``root``: kind, content, mode, mtime_ns."""
    out = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st_ = path.lstat()
        is_dir = stat.S_ISDIR(st_.st_mode)
        out[str(path.relative_to(root.parent))] = (
            "dir" if is_dir else "file",
            b"" if is_dir else path.read_bytes(),
            stat.S_IMODE(st_.st_mode),
            st_.st_mtime_ns,
        )
    return out


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    return _make_keys(tmp_path_factory.mktemp("keys"), "office", classic=True)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees())
def test_pack_then_unpack_gives_the_identical_tree(office: KeyFiles, tree: Node) -> None:
    old_umask = os.umask(UMASK)  # the CLI children inherit it
    try:
        with tempfile.TemporaryDirectory(prefix="sm-prop-") as work:
            base = Path(work)
            (base / "in").mkdir()
            source = base / "in" / "dataset"
            _create(source, tree)
            expected = {
                name: (kind, content, mode & ~UMASK, mtime)
                for name, (kind, content, mode, mtime) in _snapshot(source).items()
            }
            packed = run_cli_in(base / "in", "pack", "dataset", "-o", "../a.sm",
                                "-r", office.pub_path, "-q")  # fmt: skip
            assert packed.code == 0, packed.stderr
            unpacked = run_cli_in(base, "unpack", "a.sm", "-i", office.path, "-o", "out", "-q")
            assert unpacked.code == 0, unpacked.stderr
            assert _snapshot(base / "out" / "dataset") == expected
    finally:
        os.umask(old_umask)
