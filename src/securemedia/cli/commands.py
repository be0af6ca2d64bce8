"""The list of commands. A new command module adds one line here."""

from __future__ import annotations

import click

from .inspect import inspect
from .keygen import keygen
from .listing import listing
from .pack import pack
from .plan import plan
from .repair import repair
from .unpack import unpack
from .verify import verify

ALL: list[click.Command] = [keygen, pack, unpack, inspect, listing, plan, verify, repair]
