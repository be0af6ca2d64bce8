"""Exit codes mean one thing: every row of the README's table, checked through the
real CLI (child processes) for every command where it applies and for native
archives and compatibility ZIPs alike.

The rows checked here are compared with the README's table, so the two cannot drift.
Signals and closed pipes, which need their own set-up, are in ``test_signals.py``.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from archive_helpers import RawEntry, file_meta, mounted_tmpfs, write_raw_archive, zip_around_tar
from conftest import CliResult, run_cli_in
from securemedia.keys import SecretKey
from securemedia.recipients.passphrase import Argon2Params

README = Path(__file__).resolve().parent.parent / "README.md"
ZIP_ENV = "SECUREMEDIA_PASSPHRASE"
KEY_ENV = "SECUREMEDIA_KEY_PASSPHRASE"
KEY_PASSPHRASE = "key file passphrase"

# Rows whose cases need a set-up of their own, checked in this file's or
# test_signals.py's other tests.
ELSEWHERE = {
    ("disk full", 1): "test_disk_full_is_operational_and_leaves_nothing",
    ("SIGINT", 130): "test_signals.py",
    ("SIGTERM", 143): "test_signals.py",
    ("SIGHUP", 129): "test_signals.py",
    ("closed output", 141): "test_signals.py",
}


@dataclass
class World:
    """Files every case can name, made once: keys, a dataset, archives of both formats."""

    root: Path
    zip_passphrase: str = ""
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli_in(self.root, *args, env=env, timeout=120)


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x5A]) + data[offset + 1 :]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("exit-codes")
    w = World(root)
    for name in ("alice", "bob"):
        SecretKey.generate(classic=True).save(root / name, None)
    locked = SecretKey.generate(classic=True)
    (root / "locked").write_text(locked.to_text(KEY_PASSPHRASE.encode(), Argon2Params(1, 1024, 1)))
    text = (root / "alice").read_text()
    (root / "alice.damaged").write_text(text[: len(text) - 20] + "\n")
    export = root / "export"
    export.mkdir()
    (export / "a.txt").write_text("alpha\n")
    (export / "b.csv").write_text("id,value\n1,2\n")
    (root / "junk.bin").write_bytes(os.urandom(4096))
    (root / "junk.zip").write_bytes(b"PK\x03\x04" + os.urandom(4096))
    assert w.run("pack", "export", "-o", "a.sm", "-r", "alice.pub", "-q").code == 0
    packed = w.run(
        "pack", "export", "-o", "z.zip", "--format", "zip", "--passphrase-out", "z.pw", "-q"
    )
    assert packed.code == 0, packed.stderr
    w.zip_passphrase = (root / "z.pw").read_text().strip()
    made = w.run("pack", "export", "-o", "disc.sm", "-r", "alice.pub", "--media", "2MB", "-q")
    assert made.code == 0 and (root / "disc.sm.001.smv").is_file(), made.stderr
    (root / "rep-exists").mkdir()
    (root / "rep-exists" / "disc.sm.001.smv").write_bytes(b"")
    data = (root / "a.sm").read_bytes()
    (root / "tampered.sm").write_bytes(_flip(data, len(data) - 100))
    data = (root / "z.zip").read_bytes()
    (root / "tampered.zip").write_bytes(_flip(data, len(data) // 2))
    alice = SecretKey.from_text((root / "alice").read_text(), "alice", lambda: b"")
    with (root / "unsafe.sm").open("wb") as sink:
        write_raw_archive(
            sink, [alice.public.recipient()], [RawEntry(file_meta("../evil.txt"), b"x")]
        )
    _unsafe_zip(root / "unsafe.zip", w.zip_passphrase)
    (root / "dest-exists" / "export").mkdir(parents=True)
    (root / "dest-exists" / "export" / "a.txt").write_text("already here\n")
    for name in ("CON", "x"):
        (root / "bad-name").mkdir(exist_ok=True)
        (root / "bad-name" / name).write_text("x")
    (root / "collide").mkdir()
    (root / "collide" / "Data.txt").write_text("1")
    (root / "collide" / "data.txt").write_text("2")
    (root / "with-link").mkdir()
    (root / "with-link" / "link").symlink_to("/etc/passwd")
    (root / "with-fifo").mkdir()
    os.mkfifo(root / "with-fifo" / "pipe")
    return w


def _unsafe_zip(path: Path, passphrase: str) -> None:
    """A correctly encrypted compatibility ZIP whose tar holds ``../evil.txt``."""
    import io

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    zip_around_tar(path, passphrase, buf.getvalue())


@dataclass(frozen=True)
class Case:
    row: str
    code: int
    args: tuple[str, ...]
    zip_pass: bool = False  # give the ZIP's passphrase in $SECUREMEDIA_PASSPHRASE
    env: tuple[tuple[str, str], ...] = ()
    says: str = ""

    @property
    def id(self) -> str:
        return f"{self.row}:{' '.join(self.args)}"


def _cases() -> Iterator[Case]:
    def c(row: str, code: int, *args: str, **kw: object) -> Case:
        return Case(row, code, args, **kw)  # type: ignore[arg-type]

    zip_out = ("--format", "zip", "--passphrase-out")
    # -- 0 ------------------------------------------------------------------------
    yield c("success", 0, "pack", "export", "-o", "ok.sm", "-r", "alice.pub", "-q")
    yield c("success", 0, "pack", "export", "-o", "ok.zip", *zip_out, "ok.pw", "-q")
    yield c("success", 0, "unpack", "a.sm", "-i", "alice", "-o", "ok-native", "-q")
    yield c("success", 0, "unpack", "z.zip", "-p", "-o", "ok-zip", "-q", zip_pass=True)
    yield c("success", 0, "list", "a.sm", "-i", "alice")
    yield c("success", 0, "inspect", "a.sm")
    yield c("success", 0, "plan", "export", "--media", "cd")
    yield c("success", 0, "verify", "a.sm", "-i", "alice")
    yield c("success", 0, "verify", "disc.sm.001.smv")
    yield c("success", 0, "repair", "disc.sm.001.smv", "-o", "rep-ok")
    yield c("success", 0, "list", "disc.sm.001.smv", "-i", "alice")
    yield c("success", 0, "keygen", "-o", "fresh.key", "--no-passphrase")
    # -- 1: a missing file, whatever names it -------------------------------------
    missing = "missing file"
    yield c(missing, 1, "pack", "nope", "-o", "m1.sm", "-r", "alice.pub", says="nope")
    yield c(missing, 1, "pack", "nope", "-o", "m2.zip", *zip_out, "m2.pw", says="nope")
    yield c(missing, 1, "plan", "nope", "--media", "cd", says="nope")
    yield c(missing, 1, "verify", "nope", says="nope")
    yield c(missing, 1, "inspect", "nope", says="nope")
    yield c(missing, 1, "list", "nope", "-i", "alice", says="nope")
    yield c(missing, 1, "unpack", "nope", "-i", "alice", says="nope")
    yield c(missing, 1, "unpack", "nope.zip", "-p", "-o", "m", zip_pass=True, says="nope")
    yield c(missing, 1, "repair", "nope", "-o", "repaired", says="nope")
    yield c(missing, 1, "unpack", "disc.sm.001.smv", "disc.sm.002.smv", "-i", "alice", "-o", "m")
    yield c(missing, 1, "pack", "export", "-o", "m3.sm", "-r", "nope.pub", says="nope.pub")
    yield c(missing, 1, "unpack", "a.sm", "-i", "nokey", "-o", "m", says="nokey")
    yield c(missing, 1, "list", "a.sm", "-i", "nokey", says="nokey")
    yield c(missing, 1, "verify", "a.sm", "-i", "nokey", says="nokey")
    yield c(missing, 1, "pack", "export", "-o", "m4.sm", "-r", "alice.pub", "--sign", "nokey")
    yield c(missing, 1, "unpack", "a.sm", "-p", "--passphrase-file", "nopw", says="nopw")
    yield c(missing, 1, "unpack", "z.zip", "-p", "--passphrase-file", "nopw", says="nopw")
    yield c(
        missing, 1, "list", "a.sm", "-i", "locked", "--key-passphrase-file", "nopw", says="nopw"
    )
    yield c(
        missing,
        1,
        *("pack", "export", "-o", "m5.sm", "-r", "alice.pub", "--media", "cd", "--iso"),
        *("--notice", "nope.txt"),
        says="nope.txt",
    )
    # -- 1: cannot read or write --------------------------------------------------
    rw = "cannot read or write"
    yield c(rw, 1, "unpack", "export", "-i", "alice", "-o", "rw1")
    yield c(rw, 1, "list", "export", "-i", "alice")
    yield c(rw, 1, "inspect", "export")
    yield c(rw, 1, "pack", "export", "-o", "export/a.txt/x.sm", "-r", "alice.pub")
    yield c(rw, 1, "pack", "export", "-o", "export/a.txt/x.zip", *zip_out, "rw.pw")
    yield c(rw, 1, "unpack", "a.sm", "-i", "alice", "-o", "export/a.txt/sub")
    yield c(rw, 1, "unpack", "z.zip", "-p", "-o", "export/a.txt/sub", zip_pass=True)
    # -- 1: an output that exists ------------------------------------------------------
    exists = "output exists"
    yield c(exists, 1, "pack", "export", "-o", "a.sm", "-r", "alice.pub", says="exists")
    yield c(exists, 1, "pack", "export", "-o", "z.zip", *zip_out, "e.pw", says="exists")
    yield c(exists, 1, "keygen", "-o", "alice", "--no-passphrase", says="exists")
    yield c(exists, 1, "repair", "disc.sm.001.smv", "-o", "rep-exists", says="exists")
    yield c(exists, 1, "unpack", "a.sm", "-i", "alice", "-o", "dest-exists", says="exists")
    yield c(exists, 1, "unpack", "z.zip", "-p", "-o", "dest-exists", zip_pass=True)
    # -- 2: usage -------------------------------------------------------------------------
    for command in ("pack", "unpack", "list", "inspect", "plan", "verify", "repair", "keygen"):
        yield c("usage", 2, command, "--no-such-option")
    yield c("usage", 2, "no-such-command")
    yield c("usage", 2, "unpack", "a.sm", "-i", "alice", "-o", "u", "--stdout")
    yield c("usage", 2, "pack", "export", "-o", "u.sm", "-p", "-r", "alice.pub")
    yield c("usage", 2, "pack", "export", "-o", "u.zip", *zip_out, "u.pw", "-r", "alice.pub")
    yield c("usage", 2, "unpack", "z.zip", "-p", "--member", "x", zip_pass=True)
    yield c("usage", 2, "plan", "export", "--media", "floppy")
    # Keyless verify cannot check a plain archive's content or length: never exit 0.
    yield c("usage", 2, "verify", "a.sm", says="NOT checked")
    # -- 2: a key that is not usable ---------------------------------------------------
    key = "unusable key"
    yield c(key, 2, "unpack", "a.sm", "-i", "alice.pub", "-o", "k", says="public key")
    yield c(key, 2, "list", "a.sm", "-i", "alice.damaged", says="damaged")
    yield c(key, 2, "verify", "a.sm", "-i", "alice.damaged", says="damaged")
    yield c(key, 2, "pack", "export", "-o", "k.sm", "-r", "alice", says="private key")
    yield c(key, 2, "pack", "export", "-o", "k.sm", "-r", "smpub1-x25519-AAAA")
    yield c(key, 2, "pack", "export", "-o", "k.sm", "-r", "bob.pub", "--sign", "alice.damaged")
    # -- 2: a passphrase is needed and there is no way to ask ------------------------
    ask = "no way to ask"
    yield c(ask, 2, "pack", "export", "-o", "n.sm", "-p", says="no terminal")
    yield c(ask, 2, "unpack", "a.sm", "-p", "-o", "n", says="no terminal")
    yield c(ask, 2, "unpack", "z.zip", "-p", "-o", "n", says="no terminal")
    yield c(ask, 2, "list", "a.sm", "-i", "locked", says="no terminal")
    yield c(ask, 2, "keygen", "-o", "newkey", says="no terminal")
    # -- 3 ------------------------------------------------------------------------------------
    who = "no identity"
    yield c(who, 3, "unpack", "a.sm", "-i", "bob", "-o", "w")
    yield c(who, 3, "list", "a.sm", "-i", "bob")
    yield c(who, 3, "verify", "a.sm", "-i", "bob")
    yield c(who, 3, "unpack", "z.zip", "-p", "-o", "w", env=((ZIP_ENV, "wrong"),))
    yield c(
        who, 3, "list", "a.sm", "-i", "locked", env=((KEY_ENV, "wrong"),), says="wrong passphrase"
    )
    # -- 4: the archive is not valid or intact ------------------------------------------
    bad = "not a valid archive"
    yield c(bad, 4, "unpack", "junk.bin", "-i", "alice", "-o", "b")
    yield c(bad, 4, "list", "junk.bin", "-i", "alice")
    yield c(bad, 4, "inspect", "junk.bin")
    yield c(bad, 4, "verify", "junk.bin")
    yield c(bad, 4, "repair", "junk.bin", "-o", "repaired")
    yield c(bad, 4, "unpack", "junk.zip", "-p", "-o", "b", zip_pass=True)
    yield c(bad, 4, "unpack", "tampered.sm", "-i", "alice", "-o", "b")
    yield c(bad, 4, "list", "tampered.sm", "-i", "alice")
    yield c(bad, 4, "verify", "tampered.sm", "-i", "alice")
    yield c(bad, 4, "unpack", "tampered.zip", "-p", "-o", "b", zip_pass=True)
    yield c(bad, 4, "unpack", "a.sm", "-i", "alice", "-o", "b", "--require-signer", "bob.pub")
    yield c(
        bad, 4, "unpack", "z.zip", "-p", "-o", "b", "--require-signer", "bob.pub", zip_pass=True
    )
    # -- 4: unsafe member names inside an archive -------------------------------------
    inside = "unsafe member inside"
    yield c(inside, 4, "unpack", "unsafe.sm", "-i", "alice", "-o", "i", says="unsafe")
    yield c(inside, 4, "unpack", "unsafe.zip", "-p", "-o", "i", zip_pass=True, says="unsafe")
    # -- 5: the input cannot be packed ------------------------------------------------------
    for tree in ("bad-name", "collide", "with-link", "with-fifo"):
        yield c("cannot pack the input", 5, "pack", tree, "-o", f"{tree}.sm", "-r", "alice.pub")
        yield c("cannot pack the input", 5, "pack", tree, "-o", f"{tree}.zip", *zip_out, "p.pw")


CASES = list(_cases())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_exit_code(world: World, case: Case) -> None:
    env = dict(case.env)
    if case.zip_pass:
        env[ZIP_ENV] = world.zip_passphrase
    before = {p.name for p in world.root.iterdir()}
    result = world.run(*case.args, env=env)
    assert result.code == case.code, (result.code, result.stderr)
    if case.code == 0:
        return
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("securemedia: error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert case.says in lines[0], lines[0]
    if case.row == "cannot pack the input":
        assert "not a valid archive" not in lines[0]
        assert "cannot pack" in lines[0]
    # A refusal leaves nothing new behind (a directory an unpack created is empty).
    new = {p.name for p in world.root.iterdir()} - before
    for name in new:
        path = world.root / name
        assert path.is_dir() and not any(path.iterdir()), (name, case)


def _readme_rows() -> set[tuple[str, int]]:
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| \*\*(.+?)\*\*", text, flags=re.MULTILINE)
    assert rows, "the README has no exit-code table"
    return {(label, int(code)) for code, label in rows}


def test_readme_table_is_the_one_checked() -> None:
    checked = {(case.row, case.code) for case in CASES} | set(ELSEWHERE)
    assert _readme_rows() == checked


def test_docstrings_mirror_the_table() -> None:
    """errors.py and cli/main.py state the same codes as the README."""
    from securemedia import errors
    from securemedia.cli import main

    codes = {code for _label, code in _readme_rows()}
    for module in (errors, main):
        doc = module.__doc__ or ""
        for code in codes:
            assert re.search(rf"\b{code}\b", doc), (module.__name__, code)


# -- disk full -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root); skipped where it cannot be mounted."""
    mount = tmp_path / "small"
    mount.mkdir()
    with mounted_tmpfs(mount, "size=1m"):
        yield mount


DISK_FULL_CASES = {
    "pack-native": ("pack", "big", "-o", "{disk}/out.sm", "-r", "alice.pub", "--no-compress"),
    "pack-zip": ("pack", "big", "-o", "{disk}/out.zip", "--format", "zip", "--passphrase-out",
                 "{disk}/../out.pw"),
    "pack-media": ("pack", "big", "-o", "{disk}/set", "-r", "alice.pub", "--no-compress",
                   "--media", "2MB"),
    # Small files pass the free-space check (their sizes fit) and still fill
    # the disk (each takes a page): the disk fills while writing.
    "unpack-native": ("unpack", "many.sm", "-i", "alice", "-o", "{disk}/dest"),
    "unpack-zip": ("unpack", "many.zip", "-p", "-o", "{disk}/dest"),
    "repair": ("repair", "damaged/bigdisc.sm.001.smv", "-o", "{disk}/repaired"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DISK_FULL_CASES))
def test_disk_full_is_operational_and_leaves_nothing(
    world: World, small_disk: Path, name: str
) -> None:
    big, many = world.root / "big", world.root / "many"
    if not big.exists():
        big.mkdir()
        (big / "data.bin").write_bytes(os.urandom(1_500_000))
        many.mkdir()
        for i in range(400):
            (many / f"{i:03}.txt").write_bytes(os.urandom(100))
        assert world.run("pack", "many", "-o", "many.sm", "-r", "alice.pub", "-q").code == 0
        made = world.run(
            "pack", "many", "-o", "many.zip", "--format", "zip", "--passphrase-out", "many.pw"
        )
        assert made.code == 0, made.stderr
        made = world.run(
            "pack", "big", "-o", "bigdisc.sm", "-r", "alice.pub", "--media", "2MB", "-q"
        )
        assert made.code == 0, made.stderr
        # An intact disc is not copied by repair: give it one to rebuild.
        (world.root / "damaged").mkdir()
        damaged = world.root / "damaged" / "bigdisc.sm.001.smv"
        damaged.write_bytes((world.root / "bigdisc.sm.001.smv").read_bytes())
        with damaged.open("r+b") as handle:
            handle.seek(64 * 2048)
            handle.write(bytes(2 * 2048))
    env = {ZIP_ENV: (world.root / "many.pw").read_text().strip()}
    (world.root / "out.pw").unlink(missing_ok=True)
    args = [a.format(disk=small_disk) for a in DISK_FULL_CASES[name]]
    result = world.run(*args, env=env)
    assert result.code == 1, (result.code, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "disk full" in result.stderr, result.stderr
    assert str(small_disk) in result.stderr, result.stderr
    if name != "pack-media":  # an unfinished set's cleanup is test_media_*'s to check
        leftovers = [p for p in small_disk.rglob("*") if not p.is_dir()]
        assert leftovers == [], leftovers
