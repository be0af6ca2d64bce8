"""docs/FORMAT.md section 12, "Text rules": what a reader accepts as a key line,
a key file, a .pub file and a fingerprint, and what it refuses.

Key files are not archives, so the conformance vectors cannot pin these rules
(beyond the accepted ``identity:`` lines): these tests do, one rule each,
through the public loaders (``keyring``) and the line parser.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from securemedia.errors import KeyFileError, UsageError
from securemedia.keyring import load_public_keys, load_secret_key
from securemedia.keys import PublicKey, SecretKey, parse_fingerprint

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def never() -> bytes:
    raise AssertionError("the passphrase must not be asked for")


@pytest.fixture(scope="module")
def pair() -> SecretKey:
    return SecretKey("x25519", hashlib.sha256(b"enc").digest(), hashlib.sha256(b"sign").digest())


@pytest.fixture(scope="module")
def pq_pair() -> SecretKey:
    return SecretKey("pq", hashlib.sha512(b"enc").digest() + bytes(32), bytes(range(32)))


def secret_line(key: SecretKey) -> str:
    """The unprotected key file line, as section 12 defines it (smkey2, with its check)."""
    text = key.to_text(None)
    return next(ln for ln in text.splitlines() if ln.startswith("smkey2-"))


def _split(line: str) -> tuple[str, str]:
    """Prefix (through the last '-' before the base64url) and base64url body."""
    for prefix in ("smpub1-x25519-", "smpub1-pq-", "smkey2-enc-", "smkey2-", "smkey1-"):
        if line.startswith(prefix):
            return prefix, line[len(prefix) :]
    raise AssertionError(line)


def _load_secret(tmp_path: Path, data: bytes) -> SecretKey:
    path = tmp_path / "key"
    path.write_bytes(data)
    return load_secret_key(str(path), never)


def _load_public(tmp_path: Path, data: bytes) -> list[PublicKey]:
    path = tmp_path / "key.pub"
    path.write_bytes(data)
    return load_public_keys(str(path))


# -- base64url: canonical, unpadded ---------------------------------------------------


def _non_canonical_variants(body: str) -> dict[str, str]:
    """Texts near ``body`` that Python's lenient decoder accepts (most of them as
    the very same bytes): every one must be refused."""
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    variants = {
        "plus": body[:1] + "+" + body[2:],  # the standard alphabet, not base64url
        "slash": body[:1] + "/" + body[2:],
        "space inside": body[:10] + " " + body[10:],
        "tab inside": body[:10] + "\t" + body[10:],
        "junk inside": body[:10] + "!" + body[10:],
        "newline inside": body[:10] + "\n" + body[10:],
        "one character more": body + "A",
    }
    spare_bits = {0: 0, 2: 4, 3: 2}[len(body) % 4]  # unused low bits of the last character
    if spare_bits:
        variants["padded"] = base64.urlsafe_b64encode(raw).decode()
        last = B64URL.index(body[-1])
        assert last % (1 << spare_bits) == 0  # our encoder leaves them zero
        variants["final bits set"] = body[:-1] + B64URL[last + 1]
    return variants


def test_public_key_lines_must_be_canonical_base64url(pair: SecretKey, pq_pair: SecretKey) -> None:
    for key in (pair, pq_pair):
        line = key.public.to_line()
        prefix, body = _split(line)
        assert PublicKey.from_line(line) == key.public
        for variant in _non_canonical_variants(body).values():
            with pytest.raises(UsageError, match=r"damaged|not a securemedia public key"):
                PublicKey.from_line(prefix + variant)
            # The same text in a .pub file is refused too, not skipped.
            with pytest.raises(KeyFileError):
                load_public_keys_from_text(prefix + variant + "\n")


def load_public_keys_from_text(text: str) -> list[PublicKey]:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        return _load_public(Path(directory), text.encode())


@pytest.mark.parametrize("which", ["x25519", "pq"])
def test_key_file_lines_must_be_canonical_base64url(
    which: str, pair: SecretKey, pq_pair: SecretKey, tmp_path: Path
) -> None:
    key = pair if which == "x25519" else pq_pair
    line = secret_line(key)
    prefix, body = _split(line)
    assert _load_secret(tmp_path, (line + "\n").encode()) == key
    for variant in _non_canonical_variants(body).values():
        with pytest.raises(KeyFileError, match="damaged"):
            _load_secret(tmp_path, (prefix + variant + "\n").encode())


def test_old_smkey1_lines_are_canonical_too(pair: SecretKey, tmp_path: Path) -> None:
    blob = bytes([2]) + pair.encryption + pair.signing
    body = base64.urlsafe_b64encode(blob).rstrip(b"=").decode()
    assert _load_secret(tmp_path, f"smkey1-{body}\n".encode()) == pair
    for variant in _non_canonical_variants(body).values():
        with pytest.raises(KeyFileError):
            _load_secret(tmp_path, f"smkey1-{variant}\n".encode())


def test_a_key_has_one_line_and_one_fingerprint(pair: SecretKey) -> None:
    """The fingerprint is over the line as keygen writes it; since only that text
    parses, no other text can give the same key another fingerprint."""
    line = pair.public.to_line()
    digest = hashlib.sha256(b"securemedia/v1 fingerprint\x00" + line.encode()).digest()
    chars = base64.b32encode(digest).decode()[:20]
    assert pair.public.fingerprint == "-".join(chars[i : i + 4] for i in range(0, 20, 4))
    assert PublicKey.from_line(f" \t{line}\r\n").fingerprint == pair.public.fingerprint


# -- lines of a key file or .pub file --------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "{c}\n{k}\n",
        "{c}\r\n{k}\r\n",  # CRLF
        "{c}\n{k}",  # no final line end
        "{c}\n{k}\r",  # a final CR without LF
        "\ufeff{c}\n{k}\n",  # a byte order mark at the very start
        "\ufeff{k}\n",
        "\n\n  {c}\n\t{k} \t\n   \n",  # blank lines, spaces and tabs around lines
        "  # indented comment\n{k}\n",
        "{k}\n# a comment after the key, with \u00e9 and \x00 in it\n",
    ],
)
def test_accepted_layouts(shape: str, pair: SecretKey, tmp_path: Path) -> None:
    comment = "# securemedia key"
    secret = shape.format(c=comment, k=secret_line(pair)).encode()
    assert _load_secret(tmp_path, secret) == pair
    public = shape.format(c=comment, k=pair.public.to_line()).encode()
    assert _load_public(tmp_path, public) == [pair.public]


@pytest.mark.parametrize(
    "shape",
    [
        "{c}\n\ufeff{k}\n",  # a BOM anywhere but the very start
        "{c}\n{k}\u00a0\n",  # no-break space: not a space or tab
        "{c}\n\u2003{k}\n",  # em space
        "{c}\n{k}\x0b\n",  # vertical tab
        "{c}\n{k}\x0c\n",  # form feed
        "{c}\n{k}\r \n",  # a CR that is not just before the LF
        "{c}\n{k}\x85\n",  # NEL does not end a line
        "{k}\u2028{c}\n",  # nor does LINE SEPARATOR
        "\ufeff\ufeff{k}\n",  # one BOM only
    ],
)
def test_refused_layouts(shape: str, pair: SecretKey, tmp_path: Path) -> None:
    comment = "# securemedia key"
    with pytest.raises(KeyFileError):
        _load_secret(tmp_path, shape.format(c=comment, k=secret_line(pair)).encode())
    with pytest.raises(KeyFileError):
        _load_public(tmp_path, shape.format(c=comment, k=pair.public.to_line()).encode())


def test_a_lone_cr_does_not_end_a_line(pair: SecretKey, tmp_path: Path) -> None:
    """Old Mac line ends: the key line is part of the comment line, so there is
    no key at all (refused, never read as two lines)."""
    with pytest.raises(KeyFileError):
        _load_secret(tmp_path, f"# comment\r{secret_line(pair)}\r".encode())
    with pytest.raises(KeyFileError, match="holds no public key"):
        _load_public(tmp_path, f"# comment\r{pair.public.to_line()}\r".encode())


def test_utf16_and_invalid_utf8_are_refused(pair: SecretKey, tmp_path: Path) -> None:
    line = secret_line(pair) + "\n"
    for data in (line.encode("utf-16"), line.encode() + b"# \xff\n"):
        with pytest.raises(KeyFileError):
            _load_secret(tmp_path, data)
    with pytest.raises(KeyFileError):
        _load_public(tmp_path, (pair.public.to_line() + "\n").encode("utf-16"))


def test_a_private_key_file_holds_exactly_one_key_line(
    pair: SecretKey, pq_pair: SecretKey, tmp_path: Path
) -> None:
    one, two = secret_line(pair), secret_line(pq_pair)
    with pytest.raises(KeyFileError, match="more than one key line"):
        _load_secret(tmp_path, f"{one}\n{two}\n".encode())
    with pytest.raises(KeyFileError, match="unexpected lines"):
        _load_secret(tmp_path, f"{one}\nsomething else\n".encode())


def test_a_pub_file_holds_one_or_more_public_key_lines(
    pair: SecretKey, pq_pair: SecretKey, tmp_path: Path
) -> None:
    lines = f"{pair.public.to_line()}\n# next\n{pq_pair.public.to_line()}\n"
    assert _load_public(tmp_path, lines.encode()) == [pair.public, pq_pair.public]
    with pytest.raises(KeyFileError):
        _load_public(tmp_path, (lines + "not a key\n").encode())


def test_prefixes_are_case_sensitive(pair: SecretKey, tmp_path: Path) -> None:
    line = pair.public.to_line()
    with pytest.raises(UsageError, match="not a securemedia public key"):
        PublicKey.from_line(line.replace("smpub1-", "SMPUB1-"))
    with pytest.raises(KeyFileError):
        _load_secret(tmp_path, secret_line(pair).replace("smkey2-", "SMKEY2-").encode())


# -- fingerprints ----------------------------------------------------------------------


def test_fingerprints_are_accepted_in_any_ascii_case_with_dashes_and_spaces(
    pair: SecretKey,
) -> None:
    fp = pair.public.fingerprint
    plain = fp.replace("-", "")
    for typed in (fp, fp.lower(), plain, plain.lower(), fp.replace("-", " "), f" {fp} ", "-" + fp):
        assert parse_fingerprint(typed) == fp, typed


@pytest.mark.parametrize(
    "change",
    [
        lambda fp: fp.replace("-", "\t"),  # tabs are not spaces here
        lambda fp: fp[:-1],  # too short
        lambda fp: fp + "A",  # too long
        lambda fp: fp[:-1] + "0",  # 0, 1, 8, 9 are not base32
        lambda fp: fp[:-1] + "1",
        lambda fp: fp[:-1] + "=",  # no padding
        lambda fp: fp[:-1] + "\u0131",  # dotless i: str.upper() makes it "I"
        lambda fp: fp[:-1] + "\uff21",  # fullwidth A
        lambda fp: fp.replace("-", "\u2010"),  # Unicode hyphen
    ],
)
def test_fingerprint_look_alikes_are_refused(change: object, pair: SecretKey) -> None:
    assert callable(change)
    assert parse_fingerprint(change(pair.public.fingerprint)) is None
