"""Shared fixtures: key pairs on disk, small archives in memory, and ``run_cli``,
which runs the installed ``securemedia`` entry point in a child process."""

from __future__ import annotations

import datetime
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from securemedia.archive.compression import Compression
from securemedia.archive.writer import ArchiveWriter
from securemedia.keys import SecretKey
from securemedia.recipients import Recipient
from securemedia.recipients.passphrase import Argon2Params

# Argon2id parameters cheap enough for library tests (the CLI uses the defaults).
FAST_ARGON2 = Argon2Params(1, 1024, 1)


def _entry_point() -> list[str]:
    """The ``securemedia`` console script of the running interpreter."""
    beside = Path(sys.executable).parent / "securemedia"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("securemedia")
    if found is None:
        pytest.fail("the securemedia entry point is not installed (pip install -e .)")
    return [found]


class CliResult(NamedTuple):
    """What a CLI run gave: exit code, raw stdout, decoded stderr."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")


RunCli = Callable[..., CliResult]


def run_cli_in(
    cwd: Path,
    *args: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 300,
) -> CliResult:
    """Run ``securemedia ARGS`` with a clean environment (no SECUREMEDIA_* unless
    given in ``env``), stdin not a terminal (``stdin`` bytes or /dev/null), and a
    new session, so that /dev/tty cannot be opened and nothing can prompt."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if "PYTHONPATH" in os.environ:  # a checkout under test (a worktree) runs its own code
        clean["PYTHONPATH"] = os.environ["PYTHONPATH"]
    clean.update(env or {})
    proc = subprocess.run(
        [*_entry_point(), *(os.fspath(a) for a in args)],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        cwd=cwd,
        env=clean,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """``run_cli(*args, env=..., stdin=b"...")`` -> CliResult(code, stdout, stderr),
    run in ``tmp_path``."""

    def run(
        *args: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        timeout: float = 300,
    ) -> CliResult:
        return run_cli_in(tmp_path, *args, env=env, stdin=stdin, timeout=timeout)

    return run


@dataclass(frozen=True)
class KeyFiles:
    """A key pair in memory and on disk (private key unprotected)."""

    secret: SecretKey
    path: Path
    pub_path: Path

    @property
    def pub_line(self) -> str:
        return self.secret.public.to_line()


def _make_keys(directory: Path, name: str, *, classic: bool = False) -> KeyFiles:
    secret = SecretKey.generate(classic=classic)
    path = directory / name
    pub = secret.save(path, None)
    return KeyFiles(secret, path, pub)


@pytest.fixture
def make_keys(tmp_path: Path) -> Callable[..., KeyFiles]:
    """``make_keys(name, classic=False)``: a fresh unprotected key pair in ``tmp_path``."""
    counter = iter(range(1_000_000))

    def make(name: str | None = None, *, classic: bool = False) -> KeyFiles:
        return _make_keys(tmp_path, name or f"key{next(counter)}", classic=classic)

    return make


@pytest.fixture(scope="session")
def pq_key() -> SecretKey:
    """One ML-KEM-768+X25519 key pair shared by a whole run (in memory)."""
    return SecretKey.generate()


@pytest.fixture(scope="session")
def classic_key() -> SecretKey:
    """One X25519 key pair shared by a whole run (in memory)."""
    return SecretKey.generate(classic=True)


def make_archive(
    members: Sequence[tuple[str, bytes]],
    recipients: Sequence[Recipient],
    *,
    compress: bool = False,
    signer: SecretKey | None = None,
    file_key: bytes | None = None,
    payload_nonce: bytes | None = None,
) -> bytes:
    """An archive, in memory, holding ``members`` (name, content) as file members."""
    sink = io.BytesIO()
    with ArchiveWriter(
        sink,
        recipients,
        signer=signer,
        compression=Compression(enabled=compress),
        _file_key=file_key,
        _payload_nonce=payload_nonce,
    ) as writer:
        for name, content in members:
            with writer.open_member(name, mtime_ns=0) as out:
                out.write(content)
    return sink.getvalue()


CertKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def write_certificate(
    directory: Path,
    key: CertKey,
    name: str,
    *,
    der: bool = False,
    valid_from_days: int = -1,
    valid_to_days: int = 365,
    key_password: bytes | None = None,
) -> tuple[Path, Path]:
    """A self-signed certificate for ``key`` (PEM, or DER) and the key as PKCS#8
    PEM (encrypted under ``key_password`` if given); returns (cert, key) paths.
    Validity runs from ``valid_from_days`` to ``valid_to_days`` around now."""
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=valid_from_days))
        .not_valid_after(now + datetime.timedelta(days=valid_to_days))
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / f"{name}.{'der' if der else 'pem'}"
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    cert_path.write_bytes(cert.public_bytes(encoding))
    key_path = directory / f"{name}.key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(key_password)
            if key_password
            else serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
