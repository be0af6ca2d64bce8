"""The one hierarchy of errors that securemedia raises.

Every error carries the process exit code the CLI uses for it, so that the
mapping lives in one place (``cli/main.py`` reads ``exit_code`` and nothing else).
Messages never contain a key, a passphrase or plaintext.
"""

from __future__ import annotations


class SecureMediaError(Exception):
    """Base class. Exit code 1: an operational error (missing file, I/O, disk full)."""

    exit_code = 1


class OperationalError(SecureMediaError):
    """Something outside the archive went wrong: a file, a directory, the disk."""


class DestinationExistsError(OperationalError):
    """An output already exists and ``--force`` was not given."""


class UsageError(SecureMediaError):
    """Bad arguments, or a passphrase is needed and there is no way to ask for it (exit 2)."""

    exit_code = 2


class NoIdentityError(SecureMediaError):
    """No identity opens the archive, or the passphrase is wrong (exit 3).

    A damaged recipient stanza looks exactly the same: telling the two apart
    would be an oracle.
    """

    exit_code = 3


class FormatError(SecureMediaError):
    """The input is not a valid, intact archive (exit 4).

    Raised for public, structural facts: not an archive, an unsupported
    version, a limit exceeded, a malformed header or index.
    """

    exit_code = 4


class UnsupportedVersionError(FormatError):
    """The archive was written by a format version this reader does not know."""


class IntegrityError(FormatError):
    """Authentication failed: the archive was tampered with, truncated or damaged.

    Deliberately one type with one message for every cryptographic check (header
    MAC, chunk tag, final-chunk flag, member digest), so that no caller can learn
    which check failed.
    """

    def __init__(
        self,
        message: str = "archive failed authentication: it is damaged, "
        "truncated or has been tampered with",
    ) -> None:
        super().__init__(message)


class SignatureError(FormatError):
    """A signature is missing, invalid, or made by an unexpected signer."""


class UnsafeMemberError(FormatError):
    """A member name or type would be unsafe to extract (path escape, link, device...)."""


class MediaError(FormatError):
    """Volumes or disc images are missing, duplicated, foreign or damaged."""
