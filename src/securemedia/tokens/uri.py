"""RFC 7512 ``pkcs11:`` URIs, the few attributes securemedia needs, read strictly.

Path attributes: ``token`` (label), ``serial``, ``manufacturer``, ``model``
select the token; ``object`` (label), ``id`` (bytes, percent-encoded) and
``type`` select the key. Query attributes: ``module-path`` only.

Refused with a clear message: an attribute we do not know (a URI that means
more than we would act on is better refused than half-obeyed), a repeated
attribute, and ``pin-value``/``pin-source``: a PIN on the command line can be
read by every user of the machine (SECUREMEDIA_PKCS11_PIN or a PIN file
instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

SCHEME = "pkcs11:"
MAX_URI = 4096
"""Longer than any real URI (labels are at most 32 bytes): capped before parsing."""

_PATH_ATTRIBUTES = {"token", "serial", "manufacturer", "model", "object", "id", "type"}
_QUERY_ATTRIBUTES = {"module-path"}
_SECRET_ATTRIBUTES = {"pin-value", "pin-source"}
_TYPES = {"private", "public", "cert", "secret-key", "data"}
_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")


def is_token_uri(spec: str) -> bool:
    """Whether ``spec`` names a key on a token rather than a file."""
    return spec[: len(SCHEME)].lower() == SCHEME


@dataclass(frozen=True)
class TokenURI:
    """What a ``pkcs11:`` URI selects. ``None``: not constrained."""

    token: str | None = None
    serial: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    module_path: str | None = None

    def describe(self) -> str:
        """A short public name for messages: token and object, never a PIN."""
        token = f"token {self.token!r}" if self.token is not None else "the token"
        if self.object is not None:
            return f"{token}, object {self.object!r}"
        if self.id is not None:
            return f"{token}, id {self.id.hex()}"
        return token


def _unquote(value: str, uri: str) -> bytes:
    raw = value.encode("utf-8")
    if b"%" in _PCT.sub(b"", raw):
        raise UsageError(f"{_short(uri)}: a '%' not followed by two hex digits")
    return _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _text(value: bytes, name: str, uri: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{_short(uri)}: {name} is not UTF-8 text") from None


def _short(uri: str) -> str:
    return uri if len(uri) <= 80 else uri[:77] + "..."


def _pairs(part: str, separator: str, uri: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for item in part.split(separator) if part else []:
        name, equals, value = item.partition("=")
        name = name.strip().lower()
        if not equals or not name:
            raise UsageError(f"{_short(uri)}: {item!r} is not NAME=VALUE")
        if name in _SECRET_ATTRIBUTES:
            raise UsageError(
                f"a PIN in a pkcs11: URI ({name}) is refused: the command line is visible to "
                "every user of the machine; set SECUREMEDIA_PKCS11_PIN or use a PIN file"
            )
        if name in found:
            raise UsageError(f"{_short(uri)}: {name} is given twice")
        found[name] = _unquote(value, uri)
    return found


def parse(uri: str) -> TokenURI:
    """The attributes of a ``pkcs11:`` URI; :class:`UsageError` for anything else."""
    if len(uri) > MAX_URI:
        raise UsageError(f"pkcs11: URI longer than {MAX_URI} characters")
    if not is_token_uri(uri):
        raise UsageError(f"{_short(uri)}: not a pkcs11: URI")
    path, _, query = uri[len(SCHEME) :].partition("?")
    attrs = _pairs(path, ";", uri)
    queries = _pairs(query, "&", uri)
    for name in attrs:
        if name not in _PATH_ATTRIBUTES:
            raise UsageError(
                f"{_short(uri)}: attribute {name!r} is not supported "
                f"({', '.join(sorted(_PATH_ATTRIBUTES))})"
            )
    for name in queries:
        if name not in _QUERY_ATTRIBUTES:
            raise UsageError(
                f"{_short(uri)}: query attribute {name!r} is not supported (module-path)"
            )
    texts = {name: _text(value, name, uri) for name, value in attrs.items() if name != "id"}
    kind = texts.get("type")
    if kind is not None and kind not in _TYPES:
        raise UsageError(f"{_short(uri)}: type={kind} is not a PKCS#11 object type")
    module = queries.get("module-path")
    return TokenURI(
        token=texts.get("token"),
        serial=texts.get("serial"),
        manufacturer=texts.get("manufacturer"),
        model=texts.get("model"),
        object=texts.get("object"),
        id=attrs.get("id"),
        type=kind,
        module_path=_text(module, "module-path", uri) if module is not None else None,
    )
