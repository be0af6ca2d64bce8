"""What the CLI's start-up loads and how it treats the cycle collector (issue 13:
every command pays its start-up, and unpack's is part of its race with zstd -d)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from securemedia.cli.main import cli


def _python(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_reading_commands_do_not_load_the_zip_library() -> None:
    # pyzipper brings pycryptodome and cffi (about 60 ms of CPU): only a
    # compatibility ZIP in hand may load it.
    script = (
        "import sys\n"
        "import securemedia.cli.main\n"
        "for name in ('unpack', 'listing', 'verify', 'inspect'):\n"
        "    __import__('securemedia.cli.' + name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyzipper', 'Cryptodome')))\n"
    )
    assert _python(script) == "[]"


def test_zip_library_still_loads_for_a_zip() -> None:
    script = (
        "import sys\n"
        "from securemedia.cli import compat_check\n"
        "compat_check.compat_zip.describe_compat_zip\n"
        "print('pyzipper' in sys.modules)\n"
    )
    assert _python(script) == "True"


def test_process_entry_freezes_start_up_and_collects_during_the_command(tmp_path: Path) -> None:
    # The collector is off while the command's module is imported, and on again
    # (with start-up's objects frozen) for the command and after it.
    script = (
        "import atexit, gc, sys\n"
        "from securemedia.cli.main import main\n"
        "atexit.register(lambda: print(gc.isenabled(), gc.get_freeze_count() > 1000))\n"
        "main(sys.argv[1:])\n"
    )
    key = tmp_path / "k"
    out = _python(script, "keygen", "-o", str(key), "--no-passphrase")
    assert out.splitlines()[-1] == "True True"
    assert key.exists()


def test_calling_the_group_leaves_the_hosts_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(cli, ["list", "--help"])
    assert result.exit_code == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
