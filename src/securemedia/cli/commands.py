"""The list of commands: name -> "module:function". A new command adds one line.

Modules are imported only when their command runs, so ``securemedia unpack``
does not pay for the ISO or ZIP libraries.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "keygen": "keygen:keygen",
    "pack": "pack:pack",
    "unpack": "unpack:unpack",
    "inspect": "inspect:inspect",
    "list": "listing:listing",
    "plan": "plan:plan",
    "verify": "verify:verify",
    "repair": "repair:repair",
}
