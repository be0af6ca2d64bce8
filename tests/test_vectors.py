"""Conformance vectors (tests/vectors/): every vector through the library reader,
seekable and as a pipe, a sample through ``securemedia unpack``, and the
generator's output against the committed files.

The ``expect:`` classes map to errors.py strictly (docs/FORMAT.md, "Error classes"):

    success            no exception; SHA-256 of the file contents matches ``payload:``
    no match           NoIdentityError, while opening the header
    header failure     FormatError, NotAnArchiveError or UnsupportedVersionError, while
                       reading or opening the header (no subclass that means integrity,
                       signature or names)
    hmac failure       IntegrityError, while opening the header
    payload failure    IntegrityError, after the header opened
    index failure      FormatError (exactly), after the header opened
    unsafe member      UnsafeMemberError, after the header opened
    signature failure  SignatureError, after the header opened
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from securemedia.archive.reader import ArchiveReader
from securemedia.envelope import open_header
from securemedia.errors import (
    FormatError,
    IntegrityError,
    NoIdentityError,
    NotAnArchiveError,
    SignatureError,
    UnsafeMemberError,
    UnsupportedVersionError,
)
from securemedia.header import read_header
from securemedia.keys import SecretKey
from securemedia.recipients import Identity
from securemedia.recipients.passphrase import PassphraseIdentity
from securemedia.recipients.x509 import load_private_key
from securemedia.signing_keys import SignerKey, signer_key_from_line

VECTORS = Path(__file__).parent / "vectors"
TESTKIT = VECTORS / "testkit"
EXPECTS = {
    "success",
    "no match",
    "header failure",
    "hmac failure",
    "payload failure",
    "index failure",
    "unsafe member",
    "signature failure",
}
EXIT_CODES = {"success": 0, "no match": 3}  # every other class: 4
KNOWN_KEYS = {"expect", "payload", "identity", "identity-file", "passphrase", "require-signer"}


@dataclass
class Vector:
    name: str
    fields: list[tuple[str, str]]
    body: bytes

    def get(self, key: str) -> str | None:
        values = [v for k, v in self.fields if k == key]
        assert len(values) <= 1, f"{self.name}: {key} given twice"
        return values[0] if values else None

    @property
    def expect(self) -> str:
        value = self.get("expect")
        assert value is not None
        return value

    def identities(self) -> list[Identity]:
        found: list[Identity] = []
        for key, value in self.fields:
            if key == "identity":
                found.append(SecretKey.from_text(value, self.name, lambda: b"").identity())
            elif key == "identity-file":
                found.append(_pem_identity(value))
            elif key == "passphrase":
                found.append(PassphraseIdentity(value.encode()))
        return found

    def required(self) -> list[SignerKey] | None:
        line = self.get("require-signer")
        return [signer_key_from_line(line)] if line else None


@functools.cache
def _pem_identity(relative: str) -> Identity:
    """Loaded once: RSA private-key loading runs slow consistency checks."""
    path = VECTORS / relative
    return load_private_key(path.read_bytes(), str(path), None)


def parse(path: Path) -> Vector:
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    fields = []
    for line in head.decode("utf-8").split("\n"):
        key, colon, value = line.partition(": ")
        assert colon and key, f"{path.name}: malformed header line {line!r}"
        fields.append((key, value))
    return Vector(path.name, fields, body)


ALL = sorted(TESTKIT.iterdir())
ALL_IDS = [p.name for p in ALL]


class _Pipe(io.RawIOBase):
    """A non-seekable reader over bytes, handing out short reads like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), len(self._data) - self._pos, 65536 + 7)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _header_stage(v: Vector) -> BaseException | None:
    """Read and open the header alone; the exception, if any."""
    try:
        header = read_header(io.BytesIO(v.body))
        open_header(header, v.identities())
    except (FormatError, NoIdentityError) as exc:
        return exc
    return None


def classify(v: Vector, *, seekable: bool) -> tuple[str, str]:
    """Run the reader end to end; the outcome class, and the SHA-256 of the content."""
    early = _header_stage(v)
    source = io.BytesIO(v.body) if seekable else io.BufferedReader(_Pipe(v.body))
    contents: list[bytes] = []
    try:
        reader = ArchiveReader(source, v.identities(), require_signer=v.required())
        walked = []
        for entry in reader.walk():
            if entry.data is not None:
                walked.append(entry.data.read())
        contents = walked
        if seekable:
            # Random access must give the same bytes, member by member.
            direct = [reader.open_member(m.path).read() for m in reader.members if m.type == "file"]
            assert direct == walked
    except NoIdentityError as exc:
        assert early is not None and type(early) is type(exc)
        return "no match", ""
    except (SignatureError, UnsafeMemberError, IntegrityError, FormatError) as exc:
        if early is not None:
            assert type(early) is type(exc), (early, exc)
            if type(exc) is IntegrityError:
                return "hmac failure", ""
            if type(exc) in (FormatError, NotAnArchiveError, UnsupportedVersionError):
                return "header failure", ""
            raise AssertionError(f"unexpected header-stage error {exc!r}") from exc
        if isinstance(exc, SignatureError):
            return "signature failure", ""
        if isinstance(exc, UnsafeMemberError):
            return "unsafe member", ""
        if isinstance(exc, IntegrityError):
            return "payload failure", ""
        if type(exc) is FormatError:
            return "index failure", ""
        raise AssertionError(f"unexpected payload-stage error {exc!r}") from exc
    assert early is None
    return "success", hashlib.sha256(b"".join(contents)).hexdigest()


# Known discrepancies between src and docs/FORMAT.md (listed in tests/vectors/README.md),
# by vector name and reading mode ("seekable" or "pipe"). strict=True: when src is fixed
# they start passing, and the entry must be removed.
KNOWN: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("mode", ["seekable", "pipe"])
@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_vector(path: Path, mode: str, request: pytest.FixtureRequest) -> None:
    reason = KNOWN.get((path.name, mode))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    v = parse(path)
    got, digest = classify(v, seekable=mode == "seekable")
    assert got == v.expect, f"{v.name} ({mode}): expected {v.expect}, got {got}"
    if got == "success":
        assert digest == v.get("payload")


def test_vectors_are_well_formed() -> None:
    assert len(ALL) >= 60
    seen = {e: 0 for e in EXPECTS}
    for path in ALL:
        v = parse(path)
        keys = [k for k, _ in v.fields]
        assert keys[0] == "expect" and keys[-1] == "comment", v.name
        assert set(keys) - {"comment"} <= KNOWN_KEYS, v.name
        assert v.expect in EXPECTS, v.name
        seen[v.expect] += 1
        assert v.identities(), f"{v.name}: no identity"
        if v.expect == "success":
            payload = v.get("payload")
            assert payload is not None and len(bytes.fromhex(payload)) == 32, v.name
        else:
            assert v.get("payload") is None, v.name
        for key, value in v.fields:
            if key == "identity-file":
                assert (VECTORS / value).is_file(), value
    assert all(seen.values()), seen  # every class has vectors
    total = sum(p.stat().st_size for p in VECTORS.rglob("*") if p.is_file())
    assert total < FOLDER_CAP  # two 1 MiB vectors of FORMAT.md 15.1 (issue 10 item 8)


# The folder's size cap; tests/vectors/README.md states it ("under 15.5 MB").
FOLDER_CAP = 15_500_000
# Backquoted words in the specs that have a class prefix but name a field, not a vector
# (and one vector renamed since, which README.md's history mentions by its old name).
NOT_VECTOR_NAMES = {
    "header_key",
    "header_length",
    "index_length",
    "index_offset",
    "payload_key",
    "payload_nonce",
    "payload_file_without_digest",
}


def test_readme_states_the_testkit_counts_and_cap() -> None:
    # An implementer checks their run against the README: its per-class counts must be
    # the testkit's, and the size it promises the cap this file enforces.
    text = (VECTORS / "README.md").read_text()
    found = re.search(r"^(\d+) vectors: ([^.]*)\.", text, re.MULTILINE | re.DOTALL)
    assert found is not None, "README.md has no count line ('N vectors: ...')"
    stated = {
        cls: int(n)
        for n, cls in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", found[2].replace("\n", " "))
    }
    actual = Counter(parse(path).expect for path in ALL)
    assert int(found[1]) == len(ALL), f"README.md says {found[1]} vectors, testkit has {len(ALL)}"
    assert stated == dict(actual), f"README.md counts {stated}, testkit {dict(actual)}"
    assert f"under {FOLDER_CAP / 1e6:g} MB" in text


def test_specs_cite_only_vectors_that_exist() -> None:
    # Every vector FORMAT.md, MEDIA.md or the README names (or family, `index_record_meta_*`)
    # must exist: a renamed or dropped vector would leave a rule pinned by nothing.
    names = [path.name for path in ALL]
    pattern = re.compile(
        r"`((?:success|header|hmac|nomatch|payload|index|unsafe|sig)_[a-z0-9_*]+)`"
    )
    docs = VECTORS.parent.parent / "docs"
    for doc in (docs / "FORMAT.md", docs / "MEDIA.md", VECTORS / "README.md"):
        for cited in sorted(set(pattern.findall(doc.read_text())) - NOT_VECTOR_NAMES):
            assert fnmatch.filter(names, cited), f"{doc.name} cites {cited}: no such vector"


def _load_generator() -> object:
    spec = importlib.util.spec_from_file_location("sm_vector_generator", VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_generator_reproduces_the_committed_vectors() -> None:
    gen = _load_generator()
    vectors = gen.build_all()  # type: ignore[attr-defined]
    assert sorted(v.name for v in vectors) == ALL_IDS, "regenerate: generate.py and files differ"
    deterministic = 0
    for v in vectors:
        on_disk = (TESTKIT / v.name).read_bytes()
        text = v.text_header().encode()
        assert on_disk.startswith(text), f"{v.name}: header lines differ"
        if v.deterministic:
            deterministic += 1
            assert on_disk == v.file_bytes(), f"{v.name}: not byte-identical on regeneration"
        else:
            # Randomised stanzas (HPKE, OAEP): same structure, same length for fixed-size kinds.
            assert len(on_disk) > len(text)
    assert deterministic >= len(vectors) // 2


def test_argon2_over_cap_fails_fast() -> None:
    for name in ("header_argon2_memory_huge", "header_argon2_time_cost_huge"):
        v = parse(TESTKIT / name)
        started = time.monotonic()
        assert classify(v, seekable=True)[0] == "header failure"
        assert time.monotonic() - started < 1.0  # running Argon2 here would take hours


def test_pem_identities_are_the_kinds_claimed() -> None:
    """The sibling key files are what the vectors say they are."""
    keys = {p.stem: p.read_bytes() for p in (VECTORS / "keys").glob("*.pem")}
    assert set(keys) == {"p256", "p384", "rsa3072", "rsa4096"}
    p256 = load_private_key(keys["p256"], "p256", None)._key  # type: ignore[union-attr]
    assert isinstance(p256, ec.EllipticCurvePrivateKey) and p256.curve.name == "secp256r1"
    rsa4096 = load_private_key(keys["rsa4096"], "rsa4096", None)._key  # type: ignore[union-attr]
    assert isinstance(rsa4096, rsa.RSAPrivateKey) and rsa4096.key_size == 4096


CLI_SAMPLE = [
    "success_mlkem768x25519",
    "success_p384",
    "success_passphrase",
    "success_signed_required",
    "nomatch_wrong_x25519_key",
    "nomatch_wrong_passphrase",
    "header_version_2",
    "hmac_flipped_mac_byte",
    "payload_truncated_at_chunk_boundary",
    "index_records_gap",
    "unsafe_dotdot",
    "sig_other_signer_required",
]


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_cli_unpack_exit_code(name: str, tmp_path: Path) -> None:
    v = parse(TESTKIT / name)
    archive = tmp_path / "archive.smar"
    archive.write_bytes(v.body)
    out = tmp_path / "out"
    args = ["securemedia", "unpack", "-q", "-o", str(out)]
    for i, (key, value) in enumerate(v.fields):
        if key == "identity":
            keyfile = tmp_path / f"key{i}"
            keyfile.write_text(value + "\n")
            args += ["-i", str(keyfile)]
        elif key == "identity-file":
            args += ["-i", str(VECTORS / value)]
        elif key == "passphrase":
            pfile = tmp_path / "passphrase"
            pfile.write_text(value + "\n")
            args += ["-p", "--passphrase-file", str(pfile)]
        elif key == "require-signer":
            args += ["--require-signer", value]
    args.append(str(archive))
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(args, capture_output=True, timeout=60, env=env, check=False)
    want = EXIT_CODES.get(v.expect, 4)
    assert proc.returncode == want, proc.stderr.decode()
    if v.expect == "success":
        files = sorted(p for p in out.rglob("*") if p.is_file())
        # Files come back in index order, which for these vectors is sorted order.
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
        assert digest == v.get("payload")
    else:
        assert not out.exists() or not any(out.iterdir()), "a failed unpack left files behind"
