"""``pack --format zip`` and ``unpack`` of a compatibility ZIP (see docs/COMPAT-ZIP.md).

Kept apart from ``pack.py`` and ``unpack.py`` so that each of them only needs one
line to hand over; everything ZIP-specific lives here and in ``compat_zip``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from ..archive.sources import OwnFiles
from ..atomic import already_exists
from ..compat_zip import (
    extract_compat_zip,
    generate_passphrase,
    write_compat_zip,
    write_passphrase_file,
)
from ..errors import SignatureError, UsageError
from ..progress import no_phases
from .compat_check import NOT_WITH_A_KEY, zip_passphrase
from .output import current, emit_json, human_bytes, info

# "-" names standard output.
_STDOUT = "-"

# pack options that mean something for a compatibility ZIP; any other one given
# explicitly is refused rather than silently ignored.
_PACK_ALLOWED = {
    "inputs",
    "output",
    "archive_format",
    "passphrase_out",
    "force",
    "as_json",
    "quiet",
    "no_compress",
}
_UNPACK_ALLOWED = {
    "archives",
    "use_passphrase",
    "passphrase_file",
    "dest",
    "force",
    "as_json",
    "quiet",
}


def _explicit_options(allowed: set[str]) -> list[str]:
    """Options the user gave on the command line that are not in ``allowed``."""
    ctx = click.get_current_context()
    given = []
    for param in ctx.command.params:
        name = param.name or ""
        if name in allowed or not isinstance(param, click.Option):
            continue
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None):
            given.append(param.opts[-1] if param.opts else name)
    return given


def pack_zip(
    inputs: tuple[str, ...],
    output: str,
    passphrase_out: str | None,
    *,
    force: bool,
    as_json: bool,
    quiet: bool,
    compress: bool = True,
) -> None:
    """Write a compatibility ZIP (deflated unless ``compress`` is false) and its passphrase."""
    extra = _explicit_options(_PACK_ALLOWED)
    if any(opt in ("--media", "--iso") for opt in extra):
        raise UsageError(
            "--media and --iso are not available with --format zip: split volumes and ISO "
            "images need the native format"
        )
    if extra:
        raise UsageError(f"{', '.join(extra)} cannot be used with --format zip")
    if not passphrase_out:
        raise UsageError(
            "--format zip needs --passphrase-out FILE (or - for standard output): "
            "the passphrase is generated and must be kept"
        )
    if "-" in inputs:
        raise UsageError("standard input cannot be packed with --format zip")
    if output == _STDOUT and passphrase_out == _STDOUT:
        raise UsageError("the ZIP and the passphrase cannot both go to standard output")
    if output == "-" and sys.stdout.isatty():
        raise UsageError("refusing to write an archive to a terminal: use -o FILE or a pipe")
    out = Path(output)
    if output != "-" and not force and (out.exists() or out.is_symlink()):
        # Checked before the passphrase file is created, so a refusal leaves nothing.
        raise already_exists(out)

    passphrase = generate_passphrase()
    pass_path = None if passphrase_out == _STDOUT else Path(passphrase_out)
    if pass_path is not None:
        write_passphrase_file(pass_path, passphrase)
    # The passphrase file may sit inside an input directory: it is never packed.
    own = OwnFiles()
    if pass_path is not None:
        own.add_path(pass_path)
    try:
        sink = sys.stdout.buffer if output == "-" else out
        summary = write_compat_zip(
            [Path(p) for p in inputs],
            sink,
            passphrase,
            force=force,
            exclude=own,
            compress=compress,
            phases=current().phases() or no_phases,
        )
        current().end_progress()
    except BaseException:
        # A passphrase for a ZIP that was never written would only mislead.
        if pass_path is not None:
            pass_path.unlink(missing_ok=True)
        raise
    if output == "-":
        sys.stdout.buffer.flush()
    if pass_path is None:
        click.echo(passphrase)
    if as_json:
        emit_json(
            {
                "archive": output,
                "format": "zip",
                "compression": "deflate" if compress else "stored",
                "passphrase_file": passphrase_out,
                "files": summary.files,
                "directories": summary.directories,
                "input_bytes": summary.content_bytes,
                "archive_bytes": summary.zip_bytes,
            },
            to_stderr=output == "-" or pass_path is None,
        )
    else:
        where = "standard output" if pass_path is None else str(pass_path)
        info(
            f"packed {summary.files} file(s), {human_bytes(summary.content_bytes)}, into "
            f"compatibility ZIP {output} ({'deflated' if compress else 'stored'}, "
            f"{human_bytes(summary.zip_bytes)}); passphrase "
            f"written to {where}: send it by another channel",
            quiet=quiet,
        )


def unpack_zip(
    archive: Path,
    dest: str | None,
    passphrase_file: str | None,
    *,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Restore a compatibility ZIP with the same safe-extraction rules as native archives."""
    extra = _explicit_options(_UNPACK_ALLOWED)
    if "--require-signer" in extra:
        raise SignatureError("a compatibility ZIP is never signed: --require-signer cannot be met")
    if "--identity" in extra:
        raise UsageError(NOT_WITH_A_KEY)
    if extra:
        raise UsageError(f"{', '.join(extra)} cannot be used with a compatibility ZIP")
    # -p is implied: unpack found a ZIP and asks for its passphrase.
    passphrase = zip_passphrase(True, passphrase_file, "unpack")
    target = Path(dest or ".")
    written = extract_compat_zip(archive, passphrase, target, force=force)
    files = [p for p in written if not p.is_dir()]
    if as_json:
        emit_json(
            {
                "archive": str(archive),
                "format": "zip",
                "destination": str(target),
                "files": len(files),
                "paths": [str(p) for p in written],
            }
        )
    else:
        info(f"restored {len(files)} file(s) from compatibility ZIP into {target}", quiet=quiet)
