"""The list of commands. A new command module adds one line here."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
