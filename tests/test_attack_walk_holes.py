"""A structural fault met by ``walk`` on an archive with a hole (a lost volume).

FORMAT.md 15.1: before a structural fault is reported, every chunk that can be
read is authenticated; a hole proves nothing about authenticity and is skipped,
as at open (``ArchiveReader._authenticate_all``). The walk's pass used to stop
at the first hole, so a damaged chunk after it went unseen and the structural
fault won.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from securemedia.archive.reader import ArchiveReader
from securemedia.errors import FormatError, IntegrityError
from securemedia.media.salvage_view import open_salvage_set
from securemedia.media.volumes import VolumeSetWriter
from securemedia.recipients.passphrase import PassphraseIdentity

VECTORS = Path(__file__).parent / "vectors"
CHUNK = 1 << 20


def _generator() -> ModuleType:
    """The conformance vector builder (it crafts authentic archives with faults)."""
    spec = importlib.util.spec_from_file_location("sm_attack_generator", VECTORS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_walk_authenticates_past_a_hole_before_a_structural_fault(tmp_path: Path) -> None:
    g = _generator()
    name = "attack_walk_hole"
    # Record 0's tag is 'X' (a structural fault in chunk 0); five chunks in all.
    entries = [g.Entry("big.bin", g.pattern(4 * CHUNK + 1000, name), tag=b"X")]
    fk, nonce = g.det(f"{name}/file-key"), g.det(f"{name}/nonce", 16)
    hdr = g.header([g.st_pass(fk, name)], fk, nonce)
    chunks = g.stream(g.payload_key(fk, nonce), g.payload(entries, hdr))
    assert len(chunks) == 5
    chunks[3] = g.flip(chunks[3], 100)  # damaged after the hole: must win
    archive = hdr + b"".join(chunks)

    base = tmp_path / "set"
    capacity = CHUNK + CHUNK // 2  # volume 2 holds the end of chunk 1 and chunk 2
    with VolumeSetWriter(base, capacity, redundancy=None) as writer:
        writer.write(archive)
    paths = writer.paths
    assert len(paths) == 3  # chunk 3 lies wholly on volume 3
    present = [p for i, p in enumerate(paths) if i != 1]  # volume 2 is lost

    identity = PassphraseIdentity(g.PASSPHRASE.encode())
    with open_salvage_set(present) as (stream, _report):
        reader = ArchiveReader(stream, [identity])
        with pytest.raises(FormatError) as caught:
            for entry in reader.walk():
                if entry.data is not None:
                    entry.data.drain()
    assert type(caught.value) is IntegrityError
