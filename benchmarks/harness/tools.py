"""The tools under comparison, each as commands to time.

A ``ToolSet`` is one installed program (age, gpg, ...). It holds ``Pair``s: a
pack operation (encrypt and/or compress the registry) and, where it has one,
the matching unpack. Setting a tool up generates its keys once, untimed; a tool
that is missing raises ``Unavailable`` and is listed as skipped in the report.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.proc import CommandFailed, capture, remove, run_checked

HERE = Path(__file__).resolve().parent
BUSY_PREFIX = "1 core busy: "
MEDIA_PACK = "securemedia pack --media dvd --iso"
MEDIA_PACK_NV = "securemedia pack --media dvd --iso --no-verify"
REPAIR = "securemedia repair (1 % of sectors lost)"
PASSWORD = "bench-" + secrets.token_hex(8)


class Unavailable(Exception):
    """The tool is not installed or cannot run here; the reason is reported."""


@dataclass(frozen=True)
class Op:
    """One timed command. ``output`` is what it creates: sized, then deleted.

    ``reads``: the file it reads, warmed into the page cache before each run
    (default: the benchmark's input for a pack, the archive for an unpack);
    ``workdir``: a directory created empty before each run (a disc set's
    images are written into one, and it is the ``output``); ``busy``: run it
    while a CPU-bound process started by the harness keeps one core busy;
    ``action``: its row group in the report (default: pack or unpack).
    """

    name: str
    argv: list[str]
    output: Path
    stdin: Path | None = None
    stdout: Path | None = None
    env: dict[str, str] | None = None
    reads: Path | None = None
    workdir: Path | None = None
    busy: bool = False
    action: str | None = None


@dataclass(frozen=True)
class Pair:
    """A pack op and its unpack; ``archive`` is where the unpack reads from."""

    label: str
    pack: Op
    unpack: Op | None
    archive: Path


@dataclass
class ToolSet:
    name: str
    group: str  # "securemedia", "baseline" or "peer"
    version: str
    pairs: list[Pair] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What every setup needs: the input, a scratch dir, the interpreter."""

    input: Path
    work: Path
    python: str
    securemedia: list[str]

    def path(self, name: str) -> Path:
        return self.work / name


def require(program: str) -> str:
    """Absolute path of ``program`` or ``Unavailable``."""
    found = shutil.which(program)
    if not found:
        raise Unavailable(f"{program} not found on PATH")
    return found


def script_beside_python(name: str) -> str | None:
    """A console script of this interpreter, bypassing pyenv-style shims.

    A shim is a shell script that re-execs the real one; its start-up would be
    charged to the tool, so the real script next to ``sys.executable`` is used.
    """
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def securemedia_command(option: str | None) -> list[str]:
    """The CLI to benchmark: ``--securemedia`` if given, else the console script."""
    if option:
        return shlex.split(option)
    script = script_beside_python("securemedia")
    return [script] if script else []


def source_revision(repo: Path) -> str:
    """The commit the benchmarked sources come from, '+dirty' if src/ has edits."""
    rev = capture(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = capture(["git", "-C", str(repo), "status", "--porcelain", "--", "src"])
    return f"{rev}+dirty" if dirty else rev


def src_commit(repo: Path, rev: str) -> str:
    """The last commit at or before ``rev`` that changed src/: what was measured."""
    return capture(["git", "-C", str(repo), "log", "-1", "--format=%h", rev, "--", "src"])


def snapshot_command(repo: Path, rev: str, work: Path) -> list[str]:
    """A CLI that runs ``src/`` exactly as committed at ``rev``.

    The work tree may hold someone's half-finished edits (an editable install
    runs them); a snapshot makes the figures belong to a known commit.
    """
    # Named by the last commit that touched src/: runs at later commits reuse it.
    commit = src_commit(repo, rev)
    if not commit or " " in commit:
        raise Unavailable(f"no such revision: {rev}")
    dest = work / f"snapshot-{commit}"
    if not (dest / "src").exists():
        dest.mkdir(parents=True, exist_ok=True)
        # docs/ too: src/securemedia/specs links to the specifications there.
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", commit, "src", "docs"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    entry = dest / "securemedia"
    entry.write_text(
        f"import sys\nsys.path.insert(0, {str(dest / 'src')!r})\n"
        "from securemedia.cli.main import main\nsys.exit(main())\n"
    )
    return [sys.executable, str(entry)]


def first_line(text: str) -> str:
    return text.splitlines()[0].strip() if text else "unknown"


def setup_cp(ctx: Context) -> ToolSet:
    # --reflink=never: a copy-on-write clone is not a physical copy of the bytes.
    cp = require("cp")
    out = ctx.path("cp.out")
    op = Op("cp", [cp, "--reflink=never", str(ctx.input), str(out)], out)
    version = first_line(capture([cp, "--version"]))
    return ToolSet("cp", "baseline", version, [Pair("cp", op, None, ctx.path("cp.archive"))])


def setup_aesgcm(ctx: Context) -> ToolSet:
    import cryptography  # the version is the reference's identity

    key = ctx.path("aesgcm.key")
    key.write_bytes(os.urandom(32))
    pairs = [
        aesgcm_pair(ctx, key, "AESGCM loop", "aesgcm", [], []),
        aesgcm_pair(
            ctx, key, "AESGCM+BLAKE3+fsync loop", "aesgcmbf", ["--blake3", "--fsync"], ["--blake3"]
        ),
    ]
    version = f"cryptography {cryptography.__version__}, Python {sys.version.split()[0]}"
    return ToolSet("aesgcm", "baseline", version, pairs)


def aesgcm_pair(
    ctx: Context, key: Path, label: str, tag: str, enc_flags: list[str], dec_flags: list[str]
) -> Pair:
    """The bare loop, or (with flags) the loop that also hashes and fsyncs.

    The decrypt side never fsyncs: securemedia's unpack does not either.
    """
    script = str(HERE / "aesgcm_loop.py")
    archive, enc, dec = (ctx.path(f"{tag}.{s}") for s in ("archive", "enc", "dec"))
    pack = Op(
        f"{label} encrypt",
        [ctx.python, script, "encrypt", str(key), str(ctx.input), str(enc), *enc_flags],
        enc,
    )
    unpack = Op(
        f"{label} decrypt",
        [ctx.python, script, "decrypt", str(key), str(archive), str(dec), *dec_flags],
        dec,
    )
    return Pair(label, pack, unpack, archive)


def setup_securemedia(ctx: Context) -> ToolSet:
    if not ctx.securemedia:
        raise Unavailable("securemedia CLI not found")
    sm = ctx.securemedia
    key = ctx.path("sm.key")
    remove(key)
    remove(Path(f"{key}.pub"))
    try:
        run_checked([*sm, "keygen", "-o", str(key), "--no-passphrase"])
    except (CommandFailed, OSError) as exc:
        raise Unavailable(f"securemedia keygen failed: {exc}") from exc
    version = first_line(capture([*sm, "--version"]))
    pairs = []
    nc_pack = None
    for label, extra in (("securemedia", []), ("securemedia --no-compress", ["--no-compress"])):
        tag = "sm" if not extra else "smnc"
        archive, packed, unpacked = (ctx.path(f"{tag}.{s}") for s in ("archive", "out", "dir"))
        pack = Op(
            f"{label} pack",
            [*sm, "pack", str(ctx.input), "-o", str(packed), "-r", f"{key}.pub", *extra, "--quiet"],
            packed,
        )
        unpack = Op(
            f"{label} unpack",
            [*sm, "unpack", str(archive), "-i", str(key), "-o", str(unpacked), "--quiet"],
            unpacked,
        )
        pairs.append(Pair(label, pack, unpack, archive))
        nc_pack = pack
    # The same pack while another process keeps a core busy (issue 13): what an
    # export server that is never idle sees.
    assert nc_pack is not None
    busy = Op(f"{BUSY_PREFIX}{nc_pack.name}", nc_pack.argv, nc_pack.output, busy=True)
    pairs.append(Pair(busy.name, busy, None, ctx.path("smncbusy.archive")))
    return ToolSet("securemedia", "securemedia", version, pairs)


def setup_media(ctx: Context) -> ToolSet:
    """``pack --media dvd --iso`` with and without the read-back, and ``repair``
    of one of its images with scattered unreadable sectors (issue 13)."""
    if not ctx.securemedia:
        raise Unavailable("securemedia CLI not found")
    sm = ctx.securemedia
    key = ctx.path("sm.key")
    if not key.exists():
        run_checked([*sm, "keygen", "-o", str(key), "--no-passphrase"])
    base = [*sm, "pack", str(ctx.input), "-r", f"{key}.pub", "--media", "dvd", "--iso", "-q"]
    pairs = []
    for label, extra in (
        (MEDIA_PACK, []),
        (MEDIA_PACK_NV, ["--no-verify"]),
    ):
        where = ctx.path("media" + "".join(extra).replace("-", ""))
        pack = Op(label, [*base, "-o", str(where / "ship.sm"), *extra], where, workdir=where)
        pairs.append(Pair(label, pack, None, ctx.path(f"{where.name}.archive")))
    damaged = damaged_image(ctx, base)
    out = ctx.path("repaired")
    repair = Op(
        REPAIR, [*sm, "repair", str(damaged), "-o", str(out)], out, reads=damaged, action="repair"
    )
    pairs.append(Pair(REPAIR, repair, None, ctx.path("repaired.archive")))
    version = first_line(capture([*sm, "--version"]))
    return ToolSet("media", "securemedia", version, pairs)


def damaged_image(ctx: Context, pack: list[str]) -> Path:
    """One disc image of the input with 1 % of its sectors zeroed, spread over
    the image (what ``ddrescue`` leaves of a scratched disc); checked, untimed,
    to repair byte for byte into the original."""
    made = ctx.path("damage")
    remove(made)
    made.mkdir()
    run_checked([*pack, "-o", str(made / "ship.sm")])
    images = sorted(made.glob("ship.sm.*.iso"))
    if not images:
        raise Unavailable("pack --media dvd --iso wrote no image")
    original = images[0]
    data = bytearray(original.read_bytes())
    sectors = len(data) // 2048
    for sector in range(7, sectors, 97):  # ~1 %
        data[sector * 2048 : (sector + 1) * 2048] = bytes(2048)
    damaged = ctx.path(original.name)
    damaged.write_bytes(data)
    check = ctx.path("repair-check")
    remove(check)
    run_checked([*ctx.securemedia, "repair", str(damaged), "-o", str(check)])
    if (check / damaged.name).read_bytes() != original.read_bytes():
        raise CommandFailed("repair did not give back the original image")
    remove(check)
    remove(made)
    return damaged


def setup_age(ctx: Context) -> ToolSet:
    age, keygen = require("age"), require("age-keygen")
    key = ctx.path("age.key")
    remove(key)
    run_checked([keygen, "-o", str(key)])
    recipient = capture([keygen, "-y", str(key)])
    archive, enc, dec = ctx.path("age.archive"), ctx.path("age.enc"), ctx.path("age.dec")
    pack = Op("age encrypt", [age, "-r", recipient, "-o", str(enc), str(ctx.input)], enc)
    unpack = Op("age -d", [age, "-d", "-i", str(key), "-o", str(dec), str(archive)], dec)
    version = first_line(capture([age, "--version"]))
    busy = Op(f"{BUSY_PREFIX}{pack.name}", pack.argv, enc, busy=True)
    pairs = [Pair("age", pack, unpack, archive), Pair(busy.name, busy, None, ctx.path("agebusy"))]
    return ToolSet("age", "peer", version, pairs)


def setup_gpg(ctx: Context) -> ToolSet:
    gpg = require("gpg")
    home = ctx.path("gnupg")
    home.mkdir(mode=0o700, exist_ok=True)
    passfile = ctx.path("gpg.pass")
    passfile.write_text(PASSWORD)
    # A private GNUPGHOME: the user's keyring and agent stay untouched; the
    # symmetric key cache is off so decrypt derives the key every run.
    common = [
        gpg, "--homedir", str(home), "--batch", "--yes", "--quiet", "--no-symkey-cache",
        "--pinentry-mode", "loopback", "--passphrase-file", str(passfile),
    ]  # fmt: skip
    pairs = []
    for label, tag, comp in (
        ("gpg --compress-algo none", "gpgnc", ["--compress-algo", "none"]),
        ("gpg (default compression)", "gpg", []),
    ):
        archive, enc, dec = (ctx.path(f"{tag}.{s}") for s in ("archive", "enc", "dec"))
        encrypt = [*common, "--symmetric", "--cipher-algo", "AES256", *comp]
        pack = Op(f"{label} encrypt", [*encrypt, "-o", str(enc), str(ctx.input)], enc)
        unpack = Op(f"{label} decrypt", [*common, "--decrypt", "-o", str(dec), str(archive)], dec)
        pairs.append(Pair(label, pack, unpack, archive))
    return ToolSet("gpg", "peer", first_line(capture([gpg, "--version"])), pairs)


def stop_gpg_agent(ctx: Context) -> None:
    """The agent gpg started in our private home is ours to stop."""
    gpgconf = shutil.which("gpgconf")
    if gpgconf and ctx.path("gnupg").exists():
        capture([gpgconf, "--homedir", str(ctx.path("gnupg")), "--kill", "gpg-agent"])


def setup_7zz(ctx: Context) -> ToolSet:
    sz = next((p for p in (shutil.which("7zz"), shutil.which("7z")) if p), None)
    if not sz:
        raise Unavailable("7zz not found on PATH")
    pairs = []
    quiet = ["-bso0", "-bsp0", "-bse1"]
    for level in ("0", "1"):
        label = f"7zz AES-256 -mx={level}"
        archive, enc, dec = (ctx.path(f"7z{level}.{s}") for s in ("archive.7z", "enc.7z", "dir"))
        add = [sz, "a", "-t7z", f"-mx={level}", "-mhe=on", f"-p{PASSWORD}", *quiet]
        pack = Op(f"{label} encrypt", [*add, str(enc), str(ctx.input)], enc)
        unpack = Op(
            f"{label} decrypt",
            [sz, "x", f"-p{PASSWORD}", "-y", *quiet, f"-o{dec}", str(archive)],
            dec,
        )
        pairs.append(Pair(label, pack, unpack, archive))
    banner = capture([sz, "i"])
    version = next((ln.strip() for ln in banner.splitlines() if "7-Zip" in ln), "unknown")
    return ToolSet("7zz", "peer", version, pairs)


def setup_crypt4gh(ctx: Context) -> ToolSet:
    c4 = script_beside_python("crypt4gh")
    keygen = script_beside_python("crypt4gh-keygen")
    if not c4 or not keygen:
        raise Unavailable("crypt4gh not installed (pip install crypt4gh)")
    sk, pk = ctx.path("c4gh.sec"), ctx.path("c4gh.pub")
    run_checked([keygen, "-f", "--nocrypt", "--sk", str(sk), "--pk", str(pk)])
    archive, enc, dec = ctx.path("c4gh.archive"), ctx.path("c4gh.enc"), ctx.path("c4gh.dec")
    # crypt4gh only streams stdin -> stdout; the harness opens both files.
    pack = Op("crypt4gh encrypt", [c4, "encrypt", "--recipient_pk", str(pk)], enc, ctx.input, enc)
    unpack = Op("crypt4gh decrypt", [c4, "decrypt", "--sk", str(sk)], dec, archive, dec)
    version = first_line(capture([c4, "--version"]))
    return ToolSet("crypt4gh", "peer", version, [Pair("crypt4gh", pack, unpack, archive)])


def setup_pyzipper(ctx: Context) -> ToolSet:
    try:
        import pyzipper
    except ImportError as exc:
        raise Unavailable("pyzipper not installed (pip install pyzipper)") from exc
    script = str(HERE / "zip_aes.py")
    pairs = []
    for method in ("stored", "deflated"):
        label = f"pyzipper AES-256 {method}"
        archive, enc, dec = (ctx.path(f"zip{method}.{s}") for s in ("archive", "enc.zip", "dir"))
        pack = Op(
            f"{label} encrypt",
            [ctx.python, script, "encrypt", method, PASSWORD, str(ctx.input), str(enc)],
            enc,
        )
        unpack = Op(
            f"{label} decrypt",
            [ctx.python, script, "decrypt", PASSWORD, str(archive), str(dec)],
            dec,
        )
        pairs.append(Pair(label, pack, unpack, archive))
    return ToolSet("pyzipper", "peer", f"pyzipper {pyzipper.__version__}", pairs)


def setup_zstd(ctx: Context) -> ToolSet:
    zstd = require("zstd")
    archive, enc, dec = ctx.path("zstd.archive"), ctx.path("zstd.zst"), ctx.path("zstd.dec")
    pack = Op("zstd -3 -T2", [zstd, "-3", "-T2", "-q", "-f", str(ctx.input), "-o", str(enc)], enc)
    unpack = Op("zstd -d", [zstd, "-d", "-q", "-f", str(archive), "-o", str(dec)], dec)
    version = first_line(capture([zstd, "--version"]))
    return ToolSet("zstd", "peer", version, [Pair("zstd -3 -T2", pack, unpack, archive)])


SETUPS: dict[str, Callable[[Context], ToolSet]] = {
    "cp": setup_cp,
    "aesgcm": setup_aesgcm,
    "securemedia": setup_securemedia,
    "media": setup_media,
    "age": setup_age,
    "gpg": setup_gpg,
    "7zz": setup_7zz,
    "crypt4gh": setup_crypt4gh,
    "pyzipper": setup_pyzipper,
    "zstd": setup_zstd,
}
BASELINES = ("cp", "aesgcm")
