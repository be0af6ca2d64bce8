"""Parsing the index one entry at a time, in memory that does not grow with the
member count.

The index must be in the writer's canonical layout (docs/FORMAT.md section 7):

    {"version":1,"members":[ENTRY,ENTRY,...]}

with no whitespace, each ENTRY exactly the canonical encoding of its values
(keys in the fixed order, compact separators, UTF-8 rather than ``\\u``
escapes). One canonical form means one meaning: no duplicate keys a parser
could resolve either way, and a reader can check it entry by entry. Anything
else is an index failure (:class:`FormatError`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator

from ..errors import FormatError
from .index import INDEX_PREFIX, MAX_MEMBERS, Member, member_from_entry, refuse_constant

PREFIX = INDEX_PREFIX.decode()
# The longest canonical entry: a 4096-byte name whose every byte is escaped
# (two characters), eight fields and their integers. Anything longer is refused
# without being parsed.
MAX_ENTRY = 2 * 4096 + 1024
_DECODER = json.JSONDecoder(parse_constant=refuse_constant)
# The canonical encoding of an entry (the same as index.encode_entry).
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _malformed() -> FormatError:
    return FormatError("archive index is malformed or not in canonical form")


class _Window:
    """Decoded text of the index, refilled from byte pieces as it is consumed."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.pos = 0
        self._ended = False

    def fill(self, want: int) -> None:
        """Have at least ``want`` characters after ``pos``, unless the index ends first."""
        if len(self.text) - self.pos >= want or self._ended:
            return
        parts = [self.text[self.pos :]]
        have = len(parts[0])
        try:
            while have < want:
                piece = next(self._pieces, None)
                if piece is None:
                    parts.append(self._decoder.decode(b"", final=True))
                    self._ended = True
                    break
                text = self._decoder.decode(piece)
                parts.append(text)
                have += len(text)
        except UnicodeDecodeError:
            raise FormatError("archive index is not UTF-8") from None
        self.text = "".join(parts)
        self.pos = 0

    def expect(self, literal: str) -> bool:
        """Consume ``literal`` if it comes next."""
        self.fill(len(literal))
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def at_end(self) -> bool:
        self.fill(1)
        return self.pos >= len(self.text)


def iter_index(pieces: Iterator[bytes], members_end: int) -> Iterator[Member]:
    """Every entry of an index given as byte pieces, checked as it is met: the
    canonical layout, each field (:func:`member_from_entry`), the member cap, and
    records that tile the payload from 0 to ``members_end``.

    Names are checked one by one; uniqueness across entries is the caller's
    (:class:`~securemedia.archive.paths.NameSet`). The final checks (the last
    record ends at ``members_end``, nothing after the list) run when the
    iterator is exhausted.
    """
    window = _Window(pieces)
    if not window.expect(PREFIX):
        raise FormatError("archive index is malformed or of an unknown version")
    position = 0
    count = 0
    if not window.expect("]"):
        while True:
            member = _entry(window)
            count += 1
            if count > MAX_MEMBERS:
                raise FormatError("archive index has more members than the limit")
            if member.offset != position:
                raise FormatError("archive index does not match the payload layout")
            position += member.length
            yield member
            if window.expect("]"):
                break
            if not window.expect(","):
                raise _malformed()
    if not window.expect("}") or not window.at_end():
        raise _malformed()
    if position != members_end:
        raise FormatError("archive index does not match the payload layout")


def _entry(window: _Window) -> Member:
    window.fill(MAX_ENTRY)
    start = window.pos
    if not window.text.startswith("{", start):
        raise _malformed()
    try:
        value, end = _DECODER.raw_decode(window.text, start)
    except (ValueError, RecursionError):  # JSONDecodeError, NaN, int digit limits, nesting
        raise _malformed() from None
    # The text first, then the values: a duplicated key, an escape or a number
    # written another way is refused here, before any value (a name, a type) is
    # looked at, so no parser's choice among duplicates decides the error class.
    if end - start > MAX_ENTRY or _DUMPS(value) != window.text[start:end]:
        raise _malformed()
    member = member_from_entry(value)  # keys in the canonical order, values checked
    window.pos = end
    return member
