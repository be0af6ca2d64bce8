"""The text rules of key lines, key files and fingerprints (docs/FORMAT.md section 12).

One rule set for every ``smpub1-`` line and every ``smkey`` line, whether it
comes from a private key file, a ``.pub`` file or a command line, so that two
readers can never disagree on which texts hold a key, or which key:

* base64url is RFC 4648 section 5 without padding, and **canonical**: no ``=``,
  no character outside ``A-Z a-z 0-9 - _`` (so no whitespace inside a line and
  no ``+`` or ``/``), and unused final bits zero. A line that decodes only
  leniently is refused, so a key has exactly one line and one fingerprint;
* a key text is UTF-8; one byte order mark at its very start is ignored; lines
  end at LF, a CR just before the LF is dropped (CRLF files read as LF ones),
  no other character ends a line; spaces and tabs around a line are ignored;
  blank lines and lines starting with ``#`` are ignored;
* a fingerprint is typed in any ASCII case with any ``-`` and spaces; nothing
  else is accepted (no non-ASCII look-alike that ``str.upper`` would map in).
"""

from __future__ import annotations

import base64

BOM = "\ufeff"
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_AROUND_A_LINE = " \t"
FINGERPRINT_CHARS = 20
"""Base32 characters in a fingerprint (100 bits), printed in groups of four."""


def b64url_encode(data: bytes) -> str:
    """RFC 4648 section 5 base64url, without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url; ValueError for anything else.

    Python's decoder skips characters outside the alphabet and ignores
    non-zero final bits: either would let several texts stand for one key.
    Re-encoding and comparing refuses every such text."""
    if not set(text) <= _B64URL or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")  # non-zero unused final bits
    return data


def key_lines(text: str) -> list[str]:
    """The lines of a key text that are neither blank nor comments, trimmed."""
    text = text.removeprefix(BOM)
    found = []
    for raw in text.split("\n"):
        line = raw.removesuffix("\r").strip(_AROUND_A_LINE)
        if line and not line.startswith("#"):
            found.append(line)
    return found


def parse_fingerprint(text: str) -> str | None:
    """``text`` as a fingerprint in its printed form (``ABCD-EFGH-...``), or None.

    Dashes and spaces are optional and ASCII case does not matter, so a
    fingerprint read over the phone can be typed as heard."""
    if not text.isascii():
        return None
    plain = text.replace("-", "").replace(" ", "").upper()
    if len(plain) != FINGERPRINT_CHARS or not set(plain) <= _BASE32:
        return None
    return grouped(plain)


def grouped(text: str) -> str:
    """The printed form of a fingerprint's characters: groups of four joined by dashes."""
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))
