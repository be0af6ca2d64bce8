"""What a forged header can make a reader do: headers just over the cost caps are
refused structurally, before any Argon2 or RSA work (the figures are measured by
benchmarks/header_cost.py, not by a timed test)."""

from __future__ import annotations

import io
import os
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from securemedia.archive.reader import ArchiveReader
from securemedia.envelope import seal_header
from securemedia.errors import FormatError, NoIdentityError, UsageError
from securemedia.header import MAC_SIZE, Stanza, StanzaType, encode_unsigned, parse
from securemedia.recipients.passphrase import PassphraseIdentity
from securemedia.recipients.rsa import RSAIdentity, RSARecipient

NONCE = bytes(16)
RSA_CAP = 16  # header.MAX_RSA_STANZAS, spelled out so this file fails on main too
MIB = 1024


class CountingRSAIdentity(RSAIdentity):
    """A real RSA identity that counts the private-key operations it is asked for."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        super().__init__(key)
        self.calls = 0

    def unwrap(self, stanza: Stanza) -> bytes | None:
        self.calls += 1
        return super().unwrap(stanza)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 3072)


def forged_rsa_header(count: int) -> bytes:
    """``count`` RSA-3072 stanzas (random bodies), framed by hand as a finder would."""
    body = bytearray(NONCE) + struct.pack(">H", count)
    for _ in range(count):
        body += struct.pack(">BH", StanzaType.RSA_OAEP, 384) + os.urandom(384)
    total = 12 + 1 + 4 + len(body) + MAC_SIZE
    return b"securemedia\x00" + struct.pack(">BI", 1, total) + bytes(body) + bytes(MAC_SIZE)


def test_rsa_stanzas_over_the_cap_cost_no_rsa_work(rsa_key: rsa.RSAPrivateKey) -> None:
    raw = forged_rsa_header(RSA_CAP + 1)
    with pytest.raises(FormatError, match="RSA recipients"):
        parse(raw)
    identity = CountingRSAIdentity(rsa_key)
    with pytest.raises(FormatError, match="RSA recipients"):
        ArchiveReader(io.BytesIO(raw + bytes(64)), [identity])
    assert identity.calls == 0


def test_rsa_stanzas_at_the_cap_are_tried(rsa_key: rsa.RSAPrivateKey) -> None:
    identity = CountingRSAIdentity(rsa_key)
    with pytest.raises(NoIdentityError):
        ArchiveReader(io.BytesIO(forged_rsa_header(RSA_CAP) + bytes(64)), [identity])
    assert identity.calls == RSA_CAP


def test_writer_refuses_what_the_reader_would(rsa_key: rsa.RSAPrivateKey) -> None:
    recipients = [RSARecipient(rsa_key.public_key())] * (RSA_CAP + 1)
    with pytest.raises(UsageError, match="RSA recipients"):
        seal_header(recipients)
    stanzas = [Stanza(StanzaType.RSA_OAEP, os.urandom(384)) for _ in range(RSA_CAP + 1)]
    with pytest.raises(ValueError, match="RSA recipients"):
        encode_unsigned(NONCE, stanzas)


@pytest.mark.parametrize(
    ("t", "m", "p"),
    [
        (1, 192 * MIB + 8, 1),  # memory just over 192 MiB
        (4, 192 * MIB + 8, 4),
        (5, 160 * MIB, 1),  # time x memory just over 768 MiB-passes
        (10, 77 * MIB, 1),
    ],
)
def test_argon2_just_over_the_caps_is_refused_before_hashing(t: int, m: int, p: int) -> None:
    body = os.urandom(16) + struct.pack(">III", t, m, p) + bytes(48)
    raw = encode_unsigned(NONCE, [Stanza(StanzaType.ARGON2ID, body)]) + bytes(MAC_SIZE)
    with pytest.raises(FormatError, match="passphrase parameters are out of range"):
        ArchiveReader(io.BytesIO(raw + bytes(64)), [PassphraseIdentity(b"wrong")])
