"""``securemedia inspect``: the public facts of an archive, no key needed."""

from __future__ import annotations

import io
from pathlib import Path

import click

from ..errors import UsageError
from ..header import StanzaType, read_header
from ..stream import CHUNK_SIZE, chunk_count, payload_plaintext_size
from .inputs import open_input
from .output import echo_result, emit_json, human_bytes, output_options

_KINDS = {
    StanzaType.X25519: "X25519 (HPKE)",
    StanzaType.MLKEM768_X25519: "ML-KEM-768+X25519 post-quantum hybrid (HPKE)",
    StanzaType.P256: "EC P-256 (HPKE)",
    StanzaType.P384: "EC P-384 (HPKE)",
    StanzaType.RSA_OAEP: "RSA-OAEP-SHA256",
    StanzaType.ARGON2ID: "passphrase (Argon2id)",
}


@click.command()
@click.argument("archives", nargs=-1, required=True, metavar="ARCHIVE...")
@output_options
def inspect(archives: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Show what anyone can see of ARCHIVE without a key (a file, or all
    volumes or disc images of a set).

    Names, sizes and the member list are encrypted and are not shown. Recipients
    are anonymous: only their kind is visible. A compatibility ZIP is recognised
    by its bytes and described too.
    """
    if archives == ("-",):
        raise UsageError("inspect needs an archive file, not standard input")
    from .compat_check import inspect_zip, is_zip_argument

    if is_zip_argument(archives):
        inspect_zip(Path(archives[0]), as_json=as_json)
        return
    archive = archives[0] if len(archives) == 1 else f"{archives[0]} (+{len(archives) - 1} more)"
    with open_input(archives) as source:
        header = read_header(source)
        total = source.seek(0, io.SEEK_END)
    payload = total - len(header.raw)
    try:
        plain: int | None = payload_plaintext_size(payload)
    except Exception:
        plain = None
    recipients = []
    for stanza in header.stanzas:
        entry = {"kind": _KINDS[stanza.type]}
        if stanza.type is StanzaType.RSA_OAEP:
            entry["key_bits"] = str(len(stanza.body) * 8)
        if stanza.type is StanzaType.ARGON2ID:
            t, m, p = (int.from_bytes(stanza.body[i : i + 4], "big") for i in (16, 20, 24))
            entry["argon2id"] = f"t={t} m={m // 1024} MiB p={p}"
        recipients.append(entry)
    doc = {
        "archive": archive,
        "format": "securemedia",
        "version": 1,
        "archive_id": header.archive_id,
        "cipher": "AES-256-GCM STREAM, 1 MiB chunks",
        "archive_bytes": total,
        "header_bytes": len(header.raw),
        "chunks": chunk_count(payload),
        "payload_looks_complete": plain is not None,
        "recipients": recipients,
    }
    if as_json:
        emit_json(doc)
        return
    echo_result(f"{archive}: securemedia archive, format version 1")
    click.echo(f"  archive id   {header.archive_id}")
    click.echo(
        f"  size         {human_bytes(total)} ({total:,} bytes), "
        f"{chunk_count(payload):,} chunk(s) of {CHUNK_SIZE // 1024} KiB"
    )
    click.echo("  cipher       AES-256-GCM STREAM; header MAC HMAC-SHA256")
    click.echo(f"  recipients   {len(recipients)} (anonymous)")
    for entry in recipients:
        extra = entry.get("argon2id") or (
            f"{entry['key_bits']} bits" if "key_bits" in entry else ""
        )
        click.echo(f"    - {entry['kind']}{'  ' + extra if extra else ''}")
    if plain is None:
        click.echo("  warning      the payload length is impossible: the archive is truncated")
    click.echo(
        "  contents     encrypted (names, sizes and the member list need a key: "
        "securemedia list -i KEY)"
    )
