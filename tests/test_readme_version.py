"""The disc README names the installed version on every disc of a set, though the
version is looked up only once a process (media.readme caches it)."""

from __future__ import annotations

import importlib.metadata

from securemedia.media.readme import render_readme


def test_every_disc_names_the_installed_version() -> None:
    version = importlib.metadata.version("securemedia")
    for number in (1, 2, 3):  # later renders come from the cache
        text = render_readme(
            volume_name=f"ship.sm.{number:03d}.smv",
            number=number,
            count=3,
            set_hex="00" * 16,
            notice=None,
        ).decode()
        assert f"Install securemedia {version} or later" in text
