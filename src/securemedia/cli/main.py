"""Entry point: the command group, and the one place that maps errors to exit codes.

It also ends every command's output (``cli/output.py``): progress bars are taken
down, and with ``--json`` the one JSON document is printed here, the command's
own or, on a failure, that with ``ok``, ``exit_code`` and ``error`` added.

Exit codes (scripts depend on them; the README has the same table, and
``errors.py`` puts each code on its exception class):

  0    success
  1    operational: a file we cannot read or write (a missing input is 1 for
       every command), an output that exists without --force, disk full, I/O
  2    usage: bad arguments; a key that is not usable (damaged key file, wrong
       kind of key); a passphrase needed and no terminal to ask on
  3    no identity opens the archive, or a wrong passphrase
  4    the archive or disc is not valid or intact (unsafe member names inside it too)
  5    the input cannot be packed (an unsafe name, a time or file type the format
       cannot hold)
  130  SIGINT (Ctrl-C); 143 SIGTERM; 129 SIGHUP: cleanup runs first
  141  standard output closed by its reader (``| head``): no message
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import sys
from typing import Any

import click

from ..errors import (
    DiskFullError,
    OutputClosedError,
    SecureMediaError,
    Terminated,
    underlying,
)
from .allocator import keep_large_buffers
from .commands import COMMANDS
from .hints import cli_message
from .output import Output, meta_output, print_json, terminal_line
from .signals import signals_raise


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
        _end_start_up()
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="securemedia")
def cli() -> None:
    """Encrypted, integrity-checked archives for datasets shipped on discs."""


_start_up = [False]
"""True from :func:`main` until the command's module is imported."""


def _start_collector_late() -> None:
    """Keep the cycle collector off while the process imports its command.

    Imports make thousands of long-lived objects (modules, classes, functions)
    and no garbage; the collector would scan them about 40 times on the way
    (``gc.callbacks``: 15-30 ms of an ``unpack``). Only for the process entry
    point: a program that calls :data:`cli` itself keeps its collector as it is.
    """
    if gc.isenabled():
        gc.disable()
        _start_up[0] = True


def _end_start_up() -> None:
    """Freeze what start-up made (no later collection scans it again) and turn
    the collector back on for the command itself."""
    if _start_up[0]:
        _start_up[0] = False
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; exits with the process exit code (table above)."""
    keep_large_buffers()
    _start_collector_late()
    with signals_raise():
        code = _run(argv)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    """Run one command; map what it raised to an exit code and one line on stderr
    (or, with --json, one JSON document)."""
    args = sys.argv[1:] if argv is None else list(argv)
    meta: dict[str, Any] = {}
    try:
        # Not cli.main(): it turns EPIPE into a silent exit 1 and Ctrl-C into
        # Abort, before this mapping could see them.
        with cli.make_context("securemedia", args) as ctx:
            meta = ctx.meta  # shared with the command's context: its output settings
            cli.invoke(ctx)
            meta_output(meta).end_progress()
            _print_result(meta_output(meta))
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        # click's own prompts turn Ctrl-C into Abort.
        return _fail(meta, "interrupted", 128 + signal.SIGINT)
    except Terminated as exc:
        return _fail(meta, str(exc), exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare command asks for its help: show it, not as an error.
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        return 2
    except click.ClickException as exc:
        if _asks_json(args):
            # The arguments did not parse, so --json's own callback never ran.
            meta_output(meta).json = True
        return _fail(meta, exc.format_message(), 2)
    except Exception as exc:  # classified in _classify; bugs included
        return _report(meta, exc)
    return 0


def _asks_json(args: list[str]) -> bool:
    return "--json" in args[: args.index("--")] if "--" in args else "--json" in args


def _print_result(mode: Output) -> None:
    if mode.result is not None:
        print_json(mode.result, to_stderr=mode.json_to_stderr)


def _classify(exc: Exception) -> SecureMediaError | None:
    """Our error for ``exc``: a full disk or closed pipe behind it wins over the
    class a layer gave it; None for a bug."""
    if isinstance(exc, DiskFullError | OutputClosedError):
        return exc
    found = underlying(exc)
    if found is not None:
        return found
    if isinstance(exc, SecureMediaError):
        return exc
    if isinstance(exc, OSError):
        target = f" {exc.filename}" if exc.filename else ""
        return SecureMediaError(f"I/O error{target}: {exc.strerror or exc}")
    return None


def _report(meta: dict[str, Any], exc: Exception) -> int:
    error = _classify(exc)
    if isinstance(error, OutputClosedError):
        _silence_output()
        return error.exit_code
    if error is not None:
        return _fail(
            meta, cli_message(error), error.exit_code, shown=meta_output(meta).reported.get(id(exc))
        )
    # A bug. Name its type only: its message could quote data we handled.
    if os.environ.get("SECUREMEDIA_DEBUG"):
        raise exc
    return _fail(
        meta,
        f"internal error ({type(exc).__name__}); rerun with SECUREMEDIA_DEBUG=1 "
        "for details and please report it",
        1,
    )


def _fail(meta: dict[str, Any], message: str, code: int, *, shown: str | None = None) -> int:
    """Report a failure once: one line on stderr, or with --json one document
    (the command's own, if it made one, with the error added).

    ``shown``: the command's report on stdout already listed the problems, so
    stderr gets this short line instead of the same text a second time.
    """
    # The error is reported in one line: objects the failed run left behind must
    # not add "Exception ignored" noise while they are collected at exit.
    sys.unraisablehook = lambda _unraisable: None
    mode = meta_output(meta)
    with contextlib.suppress(Exception):  # a terminal gone: nothing to take down
        mode.end_progress()
    # stderr may be gone too (a hung-up terminal): the exit code still tells.
    with contextlib.suppress(OSError):
        if mode.json:
            fields = {"ok": False, "exit_code": code, "error": message}
            if mode.finish_stream is not None:
                mode.finish_stream(fields)
            else:
                print_json({**(mode.result or {}), **fields}, to_stderr=mode.json_to_stderr)
        if not (mode.json and mode.json_to_stderr):
            # The line for people, also beside a JSON document on stdout; never
            # after one on stderr, which must stay one parsable document.
            brief = message if mode.json else shown or message  # shown: already on stdout
            click.echo(f"securemedia: error: {terminal_line(brief)}", err=True)
    return code


def _silence_output() -> None:
    """Point stdout and stderr at /dev/null: the interpreter's last flush, and any
    library noise while objects are collected, must not fail or print again."""
    sys.unraisablehook = lambda _unraisable: None
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
