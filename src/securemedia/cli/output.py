"""Output conventions, declared once for every command.

Results go to stdout; messages, progress and errors to stderr; progress only on
a terminal. ``-q`` silences messages and progress (never results or errors).
``--json`` makes a command's whole output on stdout exactly one JSON document,
on errors too: the command hands its document to :func:`emit_json`, and
``cli/main.py`` prints it once the command is over, with ``ok``, ``exit_code``
and ``error`` added when it failed (on stderr when stdout carries an archive).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from ..archive.paths import display_text
from ..progress import Phases, Progress

F = TypeVar("F", bound=Callable[..., object])
E = TypeVar("E", bound=BaseException)

_META_KEY = "securemedia.output"


@dataclass
class Output:
    """What the user asked of the output, and what the command has to say at the end."""

    json: bool = False
    quiet: bool = False
    json_to_stderr: bool = False
    """True when stdout carries an archive or a member: the document goes to stderr."""
    result: dict[str, Any] | None = None
    """The command's JSON document, printed by main when the command ends."""
    finish_stream: Callable[[dict[str, Any]], None] | None = None
    """Closes a document the command is streaming (``list --json``) with the
    error fields, so that a failure half-way still leaves one JSON document."""
    reported: dict[int, str] = field(default_factory=dict)
    """id(error) -> the short line main prints instead of an error the
    command's own report already showed."""
    _bars: contextlib.ExitStack | None = None
    _phases: Phases | None = None

    def phases(self) -> Phases | None:
        """Progress steps drawn on stderr (a terminal, no -q), or None. The bars
        stay until :meth:`end_progress` (main calls it when the command ends)."""
        if self._phases is None and _show_progress(self.quiet):
            self._bars = contextlib.ExitStack()
            self._phases = self._bars.enter_context(_phase_bars(quiet=self.quiet))
        return self._phases

    def end_progress(self) -> None:
        """Take the progress bars off the terminal (before a report or an error)."""
        bars, self._bars, self._phases = self._bars, None, None
        if bars is not None:
            bars.close()

    def shown_in_report(self, error: E, summary: str) -> E:
        """``error``, marked as already listed in the command's report on stdout:
        without --json main prints ``summary`` instead of repeating it."""
        self.reported[id(error)] = summary
        return error


def current() -> Output:
    """The output settings of the running command (defaults outside the CLI)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Output()
    return meta_output(ctx.meta)


def meta_output(meta: dict[str, Any]) -> Output:
    """The settings kept in a click context's ``meta`` (shared by the group and its command)."""
    found = meta.get(_META_KEY)
    if not isinstance(found, Output):
        found = meta[_META_KEY] = Output()
    return found


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    meta_output(ctx.meta).json = value
    return value


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    meta_output(ctx.meta).quiet = value
    return value


def output_options(func: F) -> F:
    """``--json`` and ``-q/--quiet``, the same on every command; passes
    ``as_json`` and ``quiet`` to it. Eager, so that an error in any other
    option is already reported the way ``--json`` asks."""
    func = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        is_eager=True,
        callback=_set_quiet,
        help="No progress or messages; results and errors are still printed.",
    )(func)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        callback=_set_json,
        help="Print one JSON document, on errors too: on standard output, or on standard "
        "error when standard output carries the archive.",
    )(func)


def emit_json(doc: dict[str, Any], *, to_stderr: bool = False) -> None:
    """Hand the command's JSON document over: it is printed once the command is
    over (main adds the error to it if the command fails after this)."""
    if click.get_current_context(silent=True) is None:  # not under main: print it now
        print_json(doc, to_stderr=to_stderr)
        return
    mode = current()
    mode.result = doc
    mode.json_to_stderr = mode.json_to_stderr or to_stderr


def print_json(doc: dict[str, Any], *, to_stderr: bool = False) -> None:
    """Print one JSON document now (main's end-of-command printing)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False)
    click.echo(_json_terminal_safe(text), err=to_stderr)


def _json_terminal_safe(text: str) -> str:
    """JSON text with every character a terminal could interpret written as a
    ``\\u`` escape: ``json`` escapes C0 controls, not C1 (CSI is U+009B),
    bidirectional controls or undecodable bytes. Such characters only occur
    inside strings, where the escape decodes to the same string."""
    if all(ch.isprintable() or ch == "\n" for ch in text):
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == "\n":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:  # outside the BMP: JSON writes a UTF-16 surrogate pair
            code = ord(ch) - 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out)


def terminal_line(message: str) -> str:
    """``message`` as it may be printed on a terminal (see :func:`display_text`)."""
    return display_text(message)


def echo_result(line: str) -> None:
    """A result line on stdout, escaped as the error line is (see :func:`terminal_line`):
    result lines quote paths an operator's glob took from a finder's disc."""
    click.echo(terminal_line(line))


def info(message: str, *, quiet: bool) -> None:
    """A message for the operator on stderr, unless -q."""
    if not quiet:
        click.echo(display_text(message), err=True)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def _phase_bars(*, quiet: bool) -> Iterator[Phases | None]:
    """A :data:`~securemedia.progress.Phases` drawing one labelled bar per step on
    stderr when it is a terminal (None otherwise, or with -q).

    Each step's bar replaces the one before; each is drawn at once, so that even
    a short step shows what is happening.
    """
    if not _show_progress(quiet):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as Bars

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    # Not redirect_stdout: results on stdout must stay there, never on stderr.
    with Bars(
        *columns, console=Console(stderr=True), transient=True, redirect_stdout=False
    ) as bars:
        shown: list[Any] = []

        def phase(label: str, total: int | None) -> Progress:
            for task in shown:
                bars.update(task, visible=False)
            task = bars.add_task(label, total=total)
            shown.append(task)
            bars.refresh()

            def advance(n: int) -> None:
                bars.advance(task, n)

            return advance

        yield phase
