"""Entry point: the command group, and the one place that maps errors to exit codes.

Exit codes (scripts depend on them):
  0 success; 1 operational error; 2 usage; 3 no identity opens the archive or
  wrong passphrase; 4 the input is not a valid, intact archive.
"""

from __future__ import annotations

import sys

import click

from ..errors import SecureMediaError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="securemedia")
def cli() -> None:
    """Encrypted, integrity-checked archives for datasets shipped on discs."""


def _register() -> None:
    # Imported here so that each command module stays independent of the others.
    from . import commands

    for command in commands.ALL:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) the process exit code."""
    _register()
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="securemedia")
    except SecureMediaError as exc:
        _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as exc:
        _fail(exc.format_message(), 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader of our stdout went away (``| head``): not our error to report.
        sys.stderr.close()
        sys.exit(1)
    except OSError as exc:
        target = f" {exc.filename}" if exc.filename else ""
        _fail(f"I/O error{target}: {exc.strerror or exc}", 1)
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    click.echo(f"securemedia: error: {message}", err=True)
    sys.exit(code)
