"""The list of commands. A new command module adds one line here."""

from __future__ import annotations

import click

from .inspect import inspect
from .keygen import keygen
from .listing import listing
from .pack import pack
from .unpack import unpack

ALL: list[click.Command] = [keygen, pack, unpack, inspect, listing]
