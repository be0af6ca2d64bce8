"""The one hierarchy of errors that securemedia raises, and the exit codes they mean.

Every error carries the process exit code the CLI uses for it, so that the
mapping lives in one place (``cli/main.py`` reads ``exit_code`` and nothing else).
What a code means does not depend on the command or on the archive format:

====  =====================================================================
code  meaning
====  =====================================================================
0     success
1     operational: a file or directory that cannot be read or written (a
      missing input, key, passphrase or notice file included), an output
      that exists without ``--force``, disk full (ENOSPC), any other I/O error
2     usage: bad or conflicting arguments, a key that is not a usable key (a
      damaged key file, a public key given where a private one is needed),
      a passphrase needed and no terminal to ask on
3     no identity opens the archive, or a wrong passphrase (archive or key file)
4     the archive or disc is not valid or not intact (not an archive, tampered,
      truncated, a bad or missing signature, unsafe member names inside it,
      missing, foreign or damaged discs)
5     the input cannot be packed as given: an unsafe or colliding name in the
      input tree, a time or a file type the format cannot hold
130   interrupted (SIGINT, Ctrl-C); 143 SIGTERM; 129 SIGHUP (128 + the signal)
141   standard output was closed by its reader (EPIPE, ``| head``): no message
====  =====================================================================

The README's table says the same; a test compares the two.
Messages never contain a key, a passphrase or plaintext.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import signal
from collections.abc import Iterator

# 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe.
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE


class Remedy(enum.Enum):
    """What would fix an error, named in the library's own terms.

    Library messages say what is wrong and never name a command-line option: an
    export script has no ``--force``. The CLI turns a remedy into the option to
    use, in one place (``cli/hints.py``).
    """

    REPLACE = "replace"
    """The output exists; it is replaced only when asked to (``force=True``)."""
    CHOOSE_MEMBER = "choose-member"
    """One member was to be written alone, and the archive holds several."""
    RECIPIENT = "recipient"
    """An archive needs at least one recipient (a public key or a passphrase)."""
    NAMED_OUTPUT = "named-output"
    """Volume files need a file name to be named after, not a stream."""
    WEAK_PASSPHRASE = "weak-passphrase"  # noqa: S105 - a name, not a passphrase
    """A new passphrase is too easy to guess."""


class SecureMediaError(Exception):
    """Base class. Exit code 1: an operational error (missing file, I/O, disk full).

    ``remedy``, when set, names what would fix it (:class:`Remedy`); the message
    itself never names a command-line option.
    """

    exit_code = 1
    remedy: Remedy | None = None

    def __init__(self, *args: object, remedy: Remedy | None = None) -> None:
        super().__init__(*args)
        if remedy is not None:
            self.remedy = remedy


class OperationalError(SecureMediaError):
    """Something outside the archive went wrong: a file, a directory, the disk (exit 1)."""


class DiskFullError(OperationalError):
    """No space left (ENOSPC) or quota exceeded where we were writing (exit 1)."""


class OutputClosedError(OperationalError):
    """Whoever read our standard output stopped reading (EPIPE).

    Not reported: the reader went away on purpose (``| head``). Exit 141 says
    that the output is incomplete, as for any writer cut off by a pipe.
    """

    exit_code = EXIT_OUTPUT_CLOSED


class DestinationExistsError(OperationalError):
    """An output already exists and replacing it was not asked for (``force``)."""


class UsageError(SecureMediaError):
    """Bad arguments, or a passphrase is needed and there is no way to ask for it (exit 2)."""

    exit_code = 2


class KeyFileError(UsageError):
    """A key file is damaged, or not the kind of key file that is needed (exit 2).

    Found from the file's structure and checksums alone, before any passphrase
    is asked for: a damaged file is never reported as a wrong passphrase.
    """


class InputError(SecureMediaError):
    """The data given to ``pack`` cannot go into an archive (exit 5).

    An unsafe or colliding name in the input tree, a time outside the format's
    range, a symbolic link or a special file. Not a statement about any archive:
    the archive being written is abandoned.
    """

    exit_code = 5


class NoIdentityError(SecureMediaError):
    """No identity opens the archive, or the passphrase is wrong (exit 3).

    A damaged recipient stanza looks exactly the same: telling the two apart
    would be an oracle.
    """

    exit_code = 3


class WrongSecretKindError(NoIdentityError):
    """The archive is for a passphrase and only keys were given, or the reverse
    (exit 3). ``needs`` is "passphrase" or "key" and ``fact`` the message without
    its advice: the CLI replaces the advice with the option to use."""

    def __init__(self, fact: str, advice: str, needs: str) -> None:
        super().__init__(f"{fact}: {advice}")
        self.fact = fact
        self.needs = needs


class FormatError(SecureMediaError):
    """The input is not a valid, intact archive (exit 4).

    Raised for public, structural facts: not an archive, an unsupported
    version, a limit exceeded, a malformed header or index.
    """

    exit_code = 4


class NotAnArchiveError(FormatError):
    """The input does not start as a securemedia archive does (the wrong file)."""


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


class LostDataError(MediaError):
    """Archive bytes that no volume, recovery data, spare or salvage copy can provide.

    The message names the volume and the byte ranges in its file; ``ranges`` holds
    the lost ``[start, end)`` ranges of the *archive* (payload concatenation), so
    that salvage can tell which members they cost.
    """

    def __init__(self, message: str, ranges: list[tuple[int, int]]) -> None:
        super().__init__(message)
        self.ranges = ranges


class Terminated(BaseException):
    """A termination signal (SIGTERM, SIGHUP) arrived.

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that it is not
    caught as an error and every ``with``/``finally`` cleanup on the way out runs
    (staging directories, temporary outputs, unfinished volume sets).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def os_error(exc: OSError, action: str, target: str | os.PathLike[str]) -> OperationalError:
    """The error to raise for ``exc`` met while trying to ``action`` ``target``.

    ``raise os_error(exc, "write", path) from None`` gives every layer the same
    classes and messages: disk full says so and where, a closed pipe is quiet.
    """
    if exc.errno in _DISK_FULL:
        return DiskFullError(f"disk full: cannot {action} {os.fspath(target)} ({exc.strerror})")
    if exc.errno == errno.EPIPE:
        return OutputClosedError("standard output was closed")
    return OperationalError(f"cannot {action} {os.fspath(target)}: {exc.strerror or exc}")


def underlying(exc: BaseException) -> SecureMediaError | None:
    """A full disk or a closed pipe behind ``exc``, whatever layer wrapped it.

    A layer that turned an ``OSError`` into its own error (or a library whose
    cleanup raised something else on top of it) must not turn a full disk into
    "damaged archive": the chain of causes still holds the ``OSError``.
    """
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is short; the cap guards against cycles
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in (*_DISK_FULL, errno.EPIPE):
            if seen.errno == errno.EPIPE:
                return OutputClosedError("standard output was closed")
            where = seen.filename or None
            if isinstance(exc, SecureMediaError):
                return DiskFullError(f"disk full: {exc}")
            return DiskFullError(f"disk full: cannot write {where or 'the output'}")
        seen = seen.__cause__ or seen.__context__
    return None


@contextlib.contextmanager
def writing_to(target: str | os.PathLike[str]) -> Iterator[None]:
    """Name ``target`` when the disk fills up while writing it (a bare ``write()``
    error does not say where). Other errors pass through unchanged: an error
    reading an input inside the block is not about ``target``."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise os_error(exc, "write", target) from exc
        raise


@contextlib.contextmanager
def packing_input() -> Iterator[None]:
    """Checks of data about to be packed: the reader's verdict becomes the input's.

    The writer holds itself to the reader's validation, which raises
    :class:`FormatError` ("not a valid archive"). While packing, the same finding
    is about the input (an unsafe name, a time out of range), so it is re-raised
    as :class:`InputError`.
    """
    try:
        yield
    except FormatError as exc:
        raise InputError(f"cannot pack: {exc}") from None
