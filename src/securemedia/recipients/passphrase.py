"""Passphrase recipients: Argon2id, parameters and salt in the stanza.

Body: salt (16) | time cost (u32) | memory KiB (u32) | parallelism (u32) |
AES-256-GCM(argon2 output, nonce 0, file key) (48). The key is fresh for every
salt, so the fixed nonce is never reused under one key. A reader refuses costs
above its caps *before* running Argon2: a hostile disc must not make it burn
more than a couple of seconds of CPU or 192 MiB of memory.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..arguments import passphrase_bytes
from ..header import (
    MAX_MEMORY_KIB,
    MAX_PARALLELISM,
    MAX_TIME_COST,
    MAX_WORK_KIB,
    Stanza,
    StanzaType,
    check_argon2_costs,
)

# RFC 9106's second recommended option: t=3, p=4, m=64 MiB.
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_KIB = 64 * 1024
DEFAULT_PARALLELISM = 4
# The caps (MAX_*) are structural header rules, so they live with the header
# parser (header.py says why these numbers); re-exported here for the key files.
__all__ = [
    "DEFAULT_MEMORY_KIB",
    "DEFAULT_PARALLELISM",
    "DEFAULT_TIME_COST",
    "MAX_MEMORY_KIB",
    "MAX_PARALLELISM",
    "MAX_TIME_COST",
    "MAX_WORK_KIB",
    "Argon2Params",
    "PassphraseIdentity",
    "PassphraseRecipient",
    "derive_key",
]

_PARAMS = struct.Struct(">16sIII")
_AAD = b"securemedia/v1 stanza ARGON2ID"
_NONCE = bytes(12)


@dataclass(frozen=True)
class Argon2Params:
    time_cost: int = DEFAULT_TIME_COST
    memory_kib: int = DEFAULT_MEMORY_KIB
    parallelism: int = DEFAULT_PARALLELISM

    def check(self) -> None:
        """Refuse parameters outside the caps (raised before any hashing)."""
        check_argon2_costs(self.time_cost, self.memory_kib, self.parallelism)


def derive_key(passphrase: bytes | str, salt: bytes, params: Argon2Params) -> bytes:
    """The 32-byte key for ``passphrase`` (a str is used as UTF-8, not normalised)."""
    params.check()
    return hash_secret_raw(
        passphrase_bytes(passphrase),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


@dataclass(frozen=True)
class PassphraseRecipient:
    """Encrypt to a passphrase: str (used as UTF-8, not normalised) or bytes.

    The format primitive: it does not judge the passphrase; a script that takes
    one from a person can call :func:`securemedia.check_new_passphrase` first.
    """

    passphrase: bytes = field(repr=False)
    params: Argon2Params = Argon2Params()

    def __post_init__(self) -> None:
        object.__setattr__(self, "passphrase", passphrase_bytes(self.passphrase))

    @property
    def label(self) -> str:
        return "a passphrase"

    def wrap(self, file_key: bytes) -> Stanza:
        return self._wrap_with_salt(file_key, os.urandom(16))

    def _wrap_with_salt(self, file_key: bytes, salt: bytes) -> Stanza:
        """Deterministic seam for conformance vectors."""
        key = derive_key(self.passphrase, salt, self.params)
        wrapped = AESGCM(key).encrypt(_NONCE, file_key, _AAD)
        p = self.params
        return Stanza(
            StanzaType.ARGON2ID,
            _PARAMS.pack(salt, p.time_cost, p.memory_kib, p.parallelism) + wrapped,
        )


@dataclass(frozen=True)
class PassphraseIdentity:
    """Open an archive encrypted to a passphrase: str (used as UTF-8) or bytes."""

    passphrase: bytes = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passphrase", passphrase_bytes(self.passphrase))

    def unwrap(self, stanza: Stanza) -> bytes | None:
        if stanza.type is not StanzaType.ARGON2ID:
            return None
        salt, t, m, p = _PARAMS.unpack_from(stanza.body)
        key = derive_key(self.passphrase, salt, Argon2Params(t, m, p))
        try:
            return AESGCM(key).decrypt(_NONCE, stanza.body[_PARAMS.size :], _AAD)
        except InvalidTag:
            return None
