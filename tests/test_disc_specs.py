"""Every disc image carries the format and media specifications beside README.TXT,
byte for byte as published in docs/, read back with real xorriso."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from media_support import MEDIUM, cli, one_image
from securemedia.media import iso as iso_mod
from securemedia.media.header import HEADER_SIZE
from securemedia.media.plan import disc_bytes, readme_bound, volume_capacity
from securemedia.media.readme import render_readme
from securemedia.media.sizes import MEDIA_SECTORS, parse_medium
from securemedia.specs import DISC_FILES, disc_specs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_images_carry_the_specifications(tmp_path: Path) -> None:
    """``securemedia pack --iso``: every disc holds both documents; xorriso reads them."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.bin").write_bytes(os.urandom(2_000_000))
    key = tmp_path / "key"
    assert cli("keygen", "--no-passphrase", "--classic", "-o", key).returncode == 0
    packed = cli(
        "pack", data, "-r", f"{key}.pub", "-o", tmp_path / "ship.sm", "--media", "2MB",
        "--iso", "-q",
    )  # fmt: skip
    assert packed.returncode == 0, packed.stderr
    discs = sorted(tmp_path.glob("ship.sm.*.iso"))
    assert len(discs) == 2
    for disc in discs:
        assert disc.stat().st_size <= MEDIUM.capacity
        listing = subprocess.run(
            ["xorriso", "-indev", str(disc), "-ls"], capture_output=True, text=True, check=True
        ).stdout
        for name in ("'README.TXT'", "'FORMAT.TXT'", "'MEDIA.TXT'"):
            assert name in listing
        out = tmp_path / disc.name.replace(".", "_")
        out.mkdir()
        for name in ("FORMAT.TXT", "MEDIA.TXT", "README.TXT"):
            subprocess.run(
                ["xorriso", "-osirrox", "on", "-indev", str(disc), "-extract", f"/{name}",
                 str(out / name)],
                capture_output=True,
                check=True,
            )  # fmt: skip
        # As published, LF line ends: the same bytes as the repository's documents.
        assert (out / "FORMAT.TXT").read_bytes() == (DOCS / "FORMAT.md").read_bytes()
        assert (out / "MEDIA.TXT").read_bytes() == (DOCS / "MEDIA.md").read_bytes()
        assert b"FORMAT.TXT on this disc" in (out / "README.TXT").read_bytes()
    # The images still unpack (the extra files are not taken for volumes).
    restored = cli("unpack", "-i", key, *discs, "-o", tmp_path / "restored", "-q")
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "restored" / "data" / "a.bin").read_bytes() == (data / "a.bin").read_bytes()


def test_package_specs_are_the_documents() -> None:
    got = dict(disc_specs())
    assert [name for name, _ in DISC_FILES] == ["FORMAT.TXT", "MEDIA.TXT"]
    assert got["FORMAT.TXT"] == (DOCS / "FORMAT.md").read_bytes()
    assert got["MEDIA.TXT"] == (DOCS / "MEDIA.md").read_bytes()


def test_specs_fit_their_allowance() -> None:
    # MEDIA.md section 5's capacities assume each document within SPEC_ALLOWANCE;
    # past it sizing stays correct (the real size counts) but the table is stale:
    # raise the allowance and regenerate the table.
    for name, text in disc_specs():
        assert len(text) <= iso_mod.SPEC_ALLOWANCE, name


def test_sizing_counts_the_specifications(tmp_path: Path) -> None:
    """The real image of a full volume is within the planned bound, specs included."""
    image = one_image(tmp_path, size=volume_capacity(
        MEDIUM, iso=True, redundancy=0.15, base_name="ship.sm") - 2048)  # fmt: skip
    assert image.stat().st_size <= MEDIUM.capacity
    planned = disc_bytes(
        volume_capacity(MEDIUM, iso=True, redundancy=0.15, base_name="ship.sm"),
        iso=True,
        redundancy=0.15,
        readme_len=readme_bound("ship.sm"),
        margin=False,
    )
    assert image.stat().st_size <= planned
    # The measured file-system overhead holds both documents at their reserve.
    overhead = iso_mod.image_size_bound(0, readme_bound("ship.sm"), margin=False)
    assert overhead >= 2 * iso_mod.SPEC_ALLOWANCE + readme_bound("ship.sm")


def test_readme_names_the_specifications() -> None:
    text = render_readme(
        volume_name="ship.sm.001.smv", number=1, count=1, set_hex="0" * 32, notice=None
    ).decode("utf-8")
    assert "FORMAT.TXT" in text
    assert "MEDIA.TXT" in text


def capacity_rows() -> list[str]:
    """MEDIA.md section 5's table of archive bytes per disc, computed."""
    rows = []
    for kind in MEDIA_SECTORS:
        medium = parse_medium(kind)
        cells = [
            volume_capacity(medium, iso=iso, redundancy=red, base_name="ship.sm") - HEADER_SIZE
            for red in (0.15, None)
            for iso in (True, False)
        ]
        rows.append(f"| `{kind}` | " + " | ".join(f"{c:,}" for c in cells) + " |")
    return rows


def test_capacity_table_is_computed() -> None:
    """The table in docs/MEDIA.md section 5 is what the code computes (regenerate:
    ``python tests/test_disc_specs.py``)."""
    doc = (DOCS / "MEDIA.md").read_text("utf-8").splitlines()
    for row in capacity_rows():
        assert row in doc


if __name__ == "__main__":
    print("\n".join(capacity_rows()))
