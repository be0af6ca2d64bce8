"""``securemedia keygen``: a new key pair in KEYFILE and KEYFILE.pub."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..atomic import already_exists
from ..errors import UsageError
from ..keydir import key_directory
from ..keys import SecretKey
from .inputs import KEYFILE_UNLOCK_HELP
from .output import emit_json, info, output_options
from .passphrases import ALLOW_WEAK_OPTION, key_passphrase_source
from .tokens import token_keygen, token_options


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="KEYFILE",
    help="Private key file to write (mode 0600); the public key goes to KEYFILE.pub. "
    "Both appear together or neither does.",
)
@click.option(
    "--no-passphrase",
    is_flag=True,
    help="Store the private key unprotected (for unattended export scripts).",
)
@click.option(
    "--classic",
    is_flag=True,
    help="An X25519 key instead of the default post-quantum ML-KEM-768+X25519 hybrid.",
)
@click.option(
    "--key-passphrase-file",
    type=click.Path(dir_okay=False),
    help=KEYFILE_UNLOCK_HELP,
)
@ALLOW_WEAK_OPTION
@click.option("--force", is_flag=True, help="Replace existing key files.")
@click.option(
    "--pkcs11",
    "pkcs11_uri",
    metavar="URI",
    help="Make the key pair on a PKCS#11 token (pkcs11:token=...;object=...) and write "
    "KEYFILE.crt, a certificate for it signed by the token key (a key that decrypts), "
    "or KEYFILE.pub (a key that signs).",
)
@click.option(
    "--kind",
    type=click.Choice(["p256", "p384", "rsa-3072", "ed25519", "p256-sign"]),
    default="p256",
    show_default=True,
    help="With --pkcs11: the token key's type: p256, p384 and rsa-3072 decrypt archives, "
    "ed25519 and p256-sign (P-256) sign them.",
)
@token_options
@output_options
def keygen(
    output: str,
    no_passphrase: bool,
    classic: bool,
    key_passphrase_file: str | None,
    force: bool,
    pkcs11_uri: str | None,
    kind: str,
    as_json: bool,
    quiet: bool,
    allow_weak: bool = False,
) -> None:
    """Generate a key pair and print its public key.

    The passphrase comes from $SECUREMEDIA_KEY_PASSPHRASE, --key-passphrase-file, or
    a prompt ($SECUREMEDIA_PASSPHRASE is the archive passphrase, never a key's).
    With --pkcs11 the private key is made on the token and never leaves it; the
    PIN comes from $SECUREMEDIA_PKCS11_PIN, --pin-file, or a prompt.

    Public keys received from others (.pub files) go in the key directory,
    $SECUREMEDIA_KEYS or ~/.config/securemedia/keys: -r and --require-signer
    then accept their fingerprints.
    """
    if pkcs11_uri is not None:
        if no_passphrase or classic or key_passphrase_file:
            raise UsageError("--pkcs11 makes a token key: no passphrase or --classic applies")
        token_keygen(pkcs11_uri, kind, output, force=force, as_json=as_json, quiet=quiet)
        return
    target = Path(output)
    if not force:
        # Before asking for a passphrase; saving checks again, atomically.
        for path in (target, target.with_name(target.name + ".pub")):
            if os.path.lexists(path):
                raise already_exists(path)
    key = SecretKey.generate(classic=classic)
    passphrase = (
        None
        if no_passphrase
        else key_passphrase_source(key_passphrase_file, confirm=True, allow_weak=allow_weak)()
    )
    pub_path = key.save(target, passphrase, force=force)
    public = key.public
    if as_json:
        emit_json(
            {
                "key_file": output,
                "public_key_file": str(pub_path),
                "public_key": public.to_line(),
                "fingerprint": public.fingerprint,
                "kind": "ML-KEM-768+X25519" if public.kind == "pq" else "X25519",
                "protected": passphrase is not None,
                "key_directory": str(key_directory()),
            }
        )
        return
    info(f"# fingerprint: {public.fingerprint}", quiet=quiet)
    info(f"# wrote {output} (private, keep it secret) and {pub_path} (public)", quiet=quiet)
    # Where fingerprints given to -r and --require-signer are looked up.
    info(
        f"# put the .pub files you receive in {key_directory()} to name them by fingerprint",
        quiet=quiet,
    )
    click.echo(public.to_line())
