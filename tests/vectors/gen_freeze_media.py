"""Conformance vectors for docs/FORMAT.md section 8 (member names), issue 10 item 9.

Registered by ``generate.build_all()``. Each rule the section states that no
older vector pinned gets an ``unsafe_*`` vector; the order of normalisation
and case folding gets a pair that only Unicode's canonical caseless match
(NFD, full case folding, NFC) puts together; and ``success_names_at_the_edges``
pins names a reader MUST accept although they come close to a rule.
"""

from __future__ import annotations

from generate import (
    ID_PASS,
    Builder,
    Entry,
    file_hash,
    pass_recipient,
    put,
    writer_archive,
)

# (label, members, comment): every archive is refused as an unsafe member.
UNSAFE: list[tuple[str, list[Entry], str]] = [
    ("colon", [Entry("a:b", b"x")], "a:b names the NTFS alternate data stream b of a"),
    (
        "non_ascii_drive_letter",
        [Entry("\u00c4:x", b"x")],
        "\u00c4:x: not an ASCII drive letter, but ':' anywhere is refused",
    ),
    ("component_ends_with_dot", [Entry("d/a.", b"x")], "d/a. (Windows drops the dot)"),
    ("component_ends_with_space", [Entry("d /a", b"x")], "'d ' (Windows drops the space)"),
    ("device_space_before_dot", [Entry("CON .txt", b"x")], "CON .txt is the device CON"),
    ("device_conin", [Entry("d/conin$", b"x")], "conin$ is a Windows device name"),
    ("device_superscript", [Entry("COM\u00b9.log", b"x")], "COM\u00b9 is the device COM1"),
    (
        "device_dotless_i",
        [Entry("con\u0131n$", b"x")],
        "con\u0131n$ (U+0131 dotless i) upper-cases to CONIN$: Unicode's uppercase mapping",
    ),
    (
        "device_lower_lpt9",
        [Entry("lpt9.tar.gz", b"x")],
        "lpt9.tar.gz: the part before the first dot",
    ),
    ("c1_control", [Entry("a\u0085b", b"x")], "U+0085 NEL, a C1 control (Cc)"),
    ("delete_control", [Entry("a\x7fb", b"x")], "U+007F DEL (Cc)"),
    ("bidi_override", [Entry("invoice\u202efdp.exe", b"x")], "U+202E right-to-left override"),
    ("zero_width_space", [Entry("a\u200bb", b"x")], "U+200B zero-width space (Cf)"),
    ("soft_hyphen", [Entry("a\u00adb", b"x")], "U+00AD soft hyphen (Cf)"),
    ("byte_order_mark", [Entry("\ufeffa", b"x")], "U+FEFF at the start of a name (Cf)"),
    ("tag_character", [Entry("a\U000e0041", b"x")], "U+E0041 TAG LATIN CAPITAL LETTER A (Cf)"),
    ("line_separator", [Entry("a\u2028b", b"x")], "U+2028 line separator (Zl)"),
    ("paragraph_separator", [Entry("a\u2029b", b"x")], "U+2029 paragraph separator (Zp)"),
    (
        "name_4220_bytes",
        [Entry("/".join(["a" * 200] * 21), b"x")],
        "21 components of 200 bytes: 4,220 bytes, over the cap of 4,096",
    ),
    (
        "full_case_folding",
        [Entry("stra\u00dfe.txt", b"1"), Entry("STRASSE.TXT", b"2")],
        "stra\u00dfe.txt and STRASSE.TXT: one name under full case folding (\u00df folds to ss)",
    ),
    (
        "caseless_match_long_s",
        [Entry("\u017f\u0301", b"1"), Entry("\u015b", b"2")],
        "U+017F U+0301 (long s, acute) and U+015B (s acute): one name when decomposed "
        "before folding; NFC then casefold keeps them apart",
    ),
    (
        "caseless_match_ypogegrammeni",
        [Entry("\u1f80", b"1"), Entry("\u1f00\u03b9", b"2")],
        "U+1F80 and U+1F00 U+03B9: full case folding turns the ypogegrammeni into iota",
    ),
    (
        "file_inside_file_folded",
        [Entry("Notes", b"1"), Entry("notes/a.txt", b"2")],
        "Notes is a file, then notes/a.txt: the rule compares folded names",
    ),
    (
        "file_holds_members_folded",
        [Entry("NOTES/a.txt", b"2"), Entry("notes", b"1")],
        "NOTES/a.txt, then a file notes: the rule compares folded names, in either order",
    ),
    (
        "file_inside_file_normalised",
        [Entry("caf\u00e9", b"1"), Entry("cafe\u0301/menu.txt", b"2")],
        "caf\u00e9 (composed) is a file, then caf\u00e9/menu.txt with the \u00e9 decomposed",
    ),
]

# Close to a rule, but not under it: a reader MUST open these.
EDGES = [
    Entry("CONSOLE.txt", b"not the device CON\n"),
    Entry("x.con", b"a device name after the first dot\n"),
    Entry("COM0", b"COM0 is not in the list\n"),
    Entry("LPT10.txt", b"nor LPT10\n"),
    Entry("a..b", b"two dots inside a component\n"),
    Entry(".hidden", b"a leading dot\n"),
    Entry(" lead", b"a leading space\n"),
    Entry("a\uff1ab", b"U+FF1A fullwidth colon, not ':'\n"),
    Entry("\u00fcber", type="dir", mode=0o755),
    Entry("\u00fcber/Stra\u00dfe", b"non-ASCII letters\n"),
    Entry("\u00fcber/\u0130", b"U+0130 folds to i + U+0307, not to i\n"),
    Entry("\u00fcber/i", b"so it differs from i\n"),
]


def build(b: Builder) -> None:
    """Add the section 8 vectors."""
    for label, entries, comment in UNSAFE:
        name = f"unsafe_{label}"
        body, _, _ = b.pass_archive(name, entries)
        b.add(name, "unsafe member", body, comment, identities=[ID_PASS], deterministic=True)

    name = "success_names_at_the_edges"
    body = writer_archive([pass_recipient(name)], name, lambda w: put(w, EDGES))
    built, _, _ = b.pass_archive(name, EDGES)
    assert built == body, "generator and library writer disagree on the layout"
    b.add(
        name,
        "success",
        body,
        "names near a rule of section 8 that a reader MUST accept: CONSOLE.txt, x.con, COM0, "
        "LPT10.txt, a..b, .hidden, ' lead', a fullwidth colon, U+0130 beside i",
        identities=[ID_PASS],
        payload=file_hash(EDGES),
        deterministic=True,
    )
