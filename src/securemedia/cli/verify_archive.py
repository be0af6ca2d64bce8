"""``verify``'s archive-level checks: a plain archive (packed without --media),
which has no keyless checksums, and ``-i KEYFILE``'s end-to-end authentication,
for a plain archive or a disc set (:mod:`.verify` checks the discs themselves).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

import click

from ..errors import UsageError, WrongSecretKindError
from ..signing_keys import SignerKey
from .damage_advice import explain_damage
from .inputs import signer_json, signer_line
from .output import current, echo_result, emit_json


def verify_plain_archive(
    path: Path,
    identity: Path | None,
    key_passphrase_file: str | None,
    required: list[SignerKey],
    as_json: bool,
) -> None:
    """An archive written without --media has no sector checksums or recovery data.

    Without a key only its header can be read: its content and its length (a cut
    at a chunk boundary looks like a shorter archive) cannot be checked, so this
    is not reported as a pass (UsageError, exit 2).
    """
    from ..header import read_header
    from ..stream import payload_plaintext_size

    with open(path, "rb") as handle:
        header = read_header(handle)
        size = handle.seek(0, 2)
    payload_plaintext_size(size - len(header.raw))  # an impossible length is truncation
    signer: SignerKey | None = None
    if identity is not None:
        with explain_damage((str(path),)), open(path, "rb") as handle:
            signer = authenticate(handle, identity, key_passphrase_file, required)
        current().end_progress()
    facts = {
        "archive": str(path),
        "archive_id": header.archive_id,
        "recipients": len(header.stanzas),
        "archive_bytes": size,
        "recovery": False,
    }
    if as_json:
        checked = ["header", "recipients", "length is possible"]
        document: dict[str, Any] = {"ok": identity is not None, **facts}
        if identity is not None:
            document |= {
                "authenticated": True,
                **signer_json(signer),
                "checked": [*checked, "every byte authenticated"],
                "not_checked": [],
            }
        else:
            document |= {"authenticated": False, "checked": checked}
            document["not_checked"] = ["content", "length (truncation)"]
        emit_json(document)
    else:
        echo_result(
            f"{path}: securemedia archive {header.archive_id}: header read, "
            f"{len(header.stanzas)} recipient(s), {size:,} bytes, no recovery data"
        )
        if identity is not None:
            click.echo(authenticated_line(signer))
    if identity is None:
        raise UsageError(
            f"{path}: content and length NOT checked: a plain archive (packed without "
            "--media) can only be checked with -i KEYFILE"
        )


def authenticated_line(signer: SignerKey | None) -> str:
    """What verify says once every byte is authenticated, worded as list and
    unpack word it (one line for the same fact everywhere)."""
    return f"archive authenticated end to end, {signer_line(signer)}"


def authenticate(
    stream: BinaryIO, identity: Path, key_passphrase_file: str | None, required: list[SignerKey]
) -> SignerKey | None:
    """Read and authenticate every byte of the archive; return its signer's key, if signed."""
    from ..archive.reader import ArchiveReader
    from ..keyring import load_identities
    from ..tokens.uri import is_token_uri
    from .passphrases import key_passphrase_source
    from .tokens import token_identities

    current().end_progress()  # a passphrase or PIN prompt may follow: no bar over it
    spec = str(identity)
    identities = (
        token_identities(spec)
        if is_token_uri(spec)
        else load_identities(spec, key_passphrase_source(key_passphrase_file))
    )
    try:
        reader = ArchiveReader(stream, identities, require_signer=required or None)
    except WrongSecretKindError as exc:
        if exc.needs != "passphrase":
            raise
        # verify takes no passphrase; unpack -p authenticates every byte before writing.
        raise WrongSecretKindError(
            exc.fact, "verify -i takes a key; check it with unpack -p instead", exc.needs
        ) from None
    phases = current().phases()
    reader.verify(phases("authenticating", reader.payload_size) if phases else None)
    return reader.signer
