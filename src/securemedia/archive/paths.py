"""Member names: what a name inside an archive may look like.

A member name is a relative POSIX path of UTF-8 components. Everything that
could make an extractor write outside its destination, or that means something
different on another operating system, is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata

from ..errors import UnsafeMemberError
from .digest_set import DigestSet

MAX_NAME_BYTES = 4096
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 64

_DRIVE = re.compile(r"^[A-Za-z]:")
# Names Windows reserves: a receiving office may copy the tree onto a Windows share.
# Windows also takes the superscript digits 1-3 as device numbers (COM¹ is COM1).
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]]
)
# Bidirectional controls: they reorder what a terminal or file manager shows, so
# "report\u202etxt.exe" looks like "reportexe.txt".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"
    + "".join(map(chr, range(0x202A, 0x202F)))
    + "".join(map(chr, range(0x2066, 0x206A)))
)


def validate_member_name(name: str) -> str:
    """Return ``name`` unchanged if it is a safe relative member path, else raise.

    Refused: empty names, absolute paths, drive letters, backslashes, ``.`` and
    ``..`` components, empty components, NUL and other control characters,
    bidirectional controls and other invisible format characters, line and
    paragraph separators, ``:`` (NTFS alternate data streams), components ending
    in a dot or a space (Windows drops them), Windows device names (also
    ``CONIN$``, ``CLOCK$``, ``COM¹``...), and names or components over the
    length caps. One function for every side (pack, unpack, the compat ZIP), so
    what one writes the other accepts.
    """
    shown = quoted_name(name)
    if not name:
        raise UnsafeMemberError("unsafe member name: empty name")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UnsafeMemberError(f"unsafe member name {shown}: longer than {MAX_NAME_BYTES} bytes")
    _check_characters(name, shown)
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeMemberError(f"unsafe member name {shown}: absolute path")
    if "\\" in name:
        raise UnsafeMemberError(f"unsafe member name {shown}: backslash")
    if ":" in name:
        raise UnsafeMemberError(
            f"unsafe member name {shown}: ':' (names an NTFS alternate data stream)"
        )
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafeMemberError(f"unsafe member name {shown}: nested deeper than {MAX_DEPTH}")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafeMemberError(f"unsafe member name {shown}: '{part}' component")
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise UnsafeMemberError(f"unsafe member name {shown}: component too long")
        if part.endswith((".", " ")):
            raise UnsafeMemberError(
                f"unsafe member name {shown}: a component ends with a dot or a space "
                "(Windows drops it, so two names would become one)"
            )
        # Windows ignores spaces before the extension too: "CON .txt" is CON.
        if part.split(".")[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
            raise UnsafeMemberError(f"unsafe member name {shown}: reserved device name")
    return name


def _check_characters(name: str, shown: str) -> None:
    """Refuse characters that a terminal, a file manager or a file system would
    interpret instead of showing, naming the rule and the first offender."""
    # Every refused character (Cc, Cs, Cf, Zl, Zp) is one str.isprintable()
    # rejects, so a printable name needs no per-character lookup: this runs for
    # every member several times per unpack.
    if name.isprintable():
        return
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            rule = "control character"
        elif ch in _BIDI_CONTROLS:
            rule = "bidirectional control character"
        elif category == "Cf":
            rule = "invisible format character"
        elif category in ("Zl", "Zp"):
            rule = "line or paragraph separator"
        else:
            continue
        raise UnsafeMemberError(f"unsafe member name {shown}: {rule} {_escape(ch)}")


class NameSet:
    """Member names seen so far, checked one at a time in O(depth).

    Refused: duplicates, including names that differ only by case or Unicode
    normalisation (they overwrite each other on NTFS and APFS, where receiving
    offices unpack), and any member inside something that is a file.

    Names are held as 16-byte BLAKE2b digests of their normalised form, keyed
    with a random key per set (so no archive can be built to collide), in a
    compact table rather than as strings: a million members cost tens of MiB.
    """

    def __init__(self) -> None:
        self._key = os.urandom(16)
        self._kinds = DigestSet()  # name -> is a directory
        self._parents = DigestSet()  # names that hold other members

    def _digest(self, key: str) -> bytes:
        return hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=16, key=self._key
        ).digest()

    def add(self, name: str, is_dir: bool) -> None:
        key = folded_name(name)
        digest = self._digest(key)
        if self._kinds.get(digest) is not None:
            raise UnsafeMemberError(f"duplicate member name {quoted_name(name)}")
        if not is_dir and self._parents.get(digest) is not None:
            raise UnsafeMemberError(f"member {quoted_name(name)} is a file but holds other members")
        parent = key.rpartition("/")[0]
        while parent:
            pdigest = self._digest(parent)
            if self._kinds.get(pdigest) is False:
                raise UnsafeMemberError(f"member {quoted_name(name)} is inside a file")
            if self._parents.get(pdigest) is not None:
                # Its own parents were added (and checked) with it, and no file
                # of any of their names can come later (refused just above).
                break
            self._parents.add(pdigest, True)
            parent = parent.rpartition("/")[0]
        self._kinds.add(digest, is_dir)


def folded_name(name: str) -> str:
    """The form the unique-name rules compare (docs/FORMAT.md section 8): Unicode's
    canonical caseless match (Unicode chapter 3, D145), NFD, full case folding,
    then NFC (equal NFC forms exactly when equal NFD forms).

    Case folding does not preserve normalisation: folding NFC text (as this did
    once) keeps ``\u017f\u0301`` (long s, acute) and ``\u015b`` (s acute) apart,
    which a case-insensitive, normalisation-insensitive file system takes as one.
    Decomposing first makes every such pair one name."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", name).casefold())


def display_name(name: str) -> str:
    """``name`` with everything a terminal would interpret escaped, for printing.

    C0 and C1 controls (ESC, DEL...), bidirectional controls and other format
    characters, line and paragraph separators, surrogates (undecodable bytes),
    private-use and unassigned code points become ``\\xNN``, ``\\uNNNN`` or
    ``\\UNNNNNNNN`` escapes; a backslash is doubled so the escaping stays
    unambiguous. Everything else is shown as is. Use it wherever a member name
    reaches a terminal.
    """
    if name.isprintable() and "\\" not in name:
        return name  # the common case: nothing to escape
    return "".join("\\\\" if ch == "\\" else ch if _shown_as_is(ch) else _escape(ch) for ch in name)


def display_text(text: str) -> str:
    """A whole message made safe for a terminal: as :func:`display_name`, but a
    backslash is kept as is, since names in the message are escaped already.

    The last line of defence for text that may quote a name nobody escaped (an
    operator's glob over a finder's disc hands us the finder's file names).
    """
    if text.isprintable():
        return text
    return "".join(ch if _shown_as_is(ch) else _escape(ch) for ch in text)


def quoted_name(name: str, limit: int = 200) -> str:
    """A quoted, escaped form of ``name`` for error messages, cut to ``limit`` characters."""
    if len(name) > limit:
        name = name[:limit] + "..."
    return f"'{display_name(name)}'"


def _shown_as_is(ch: str) -> bool:
    # str.isprintable() is False exactly for the categories Cc, Cf, Cs, Co, Cn,
    # Zl, Zp and Zs except the ASCII space: all of them are escaped (other
    # spaces would pass for a plain one).
    return ch.isprintable()


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
