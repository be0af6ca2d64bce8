"""Entry point: the command group, and the one place that maps errors to exit codes.

Exit codes (scripts depend on them):
  0 success; 1 operational error; 2 usage; 3 no identity opens the archive or
  wrong passphrase; 4 the input is not a valid, intact archive.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..errors import SecureMediaError
from .commands import COMMANDS


class _LazyGroup(click.Group):
    """A group whose commands are imported only when used (fast start-up)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(f".{module}", __package__), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="securemedia")
def cli() -> None:
    """Encrypted, integrity-checked archives for datasets shipped on discs."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and exits with) the process exit code."""
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="securemedia")
    except SecureMediaError as exc:
        _fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare command asks for its help: show it, not as an error.
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        sys.exit(2)
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
    except Exception as exc:
        # A bug. Name its type only: its message could quote data we handled.
        if os.environ.get("SECUREMEDIA_DEBUG"):
            raise
        _fail(
            f"internal error ({type(exc).__name__}); rerun with SECUREMEDIA_DEBUG=1 "
            "for details and please report it",
            1,
        )
    sys.exit(0)


def _fail(message: str, code: int) -> None:
    click.echo(f"securemedia: error: {message}", err=True)
    sys.exit(code)
