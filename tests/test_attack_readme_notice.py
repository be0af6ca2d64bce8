"""Round-2 attack: the sender's contact text on README.TXT, from --notice-text
or read back from a finder's surviving image by repair, keeps no character a
terminal or a text viewer interprets (C1 controls, DEL, bidi overrides)."""

from __future__ import annotations

from securemedia.media.readme import SENDER_LINE, load_notice, read_notice

HOSTILE = "Ann\x9b2J Berg\x7f\u202egrebnA\u2028\n+47\u00a022 00 00 00\x1b[0m\tdesk 4"


def test_load_notice_drops_every_control_and_keeps_spaces() -> None:
    assert load_notice(None, HOSTILE) == "Ann2J BerggrebnA\n+47\u00a022 00 00 00[0m\tdesk 4"


def test_a_hostile_readme_on_a_surviving_image_gives_a_clean_notice() -> None:
    body = "\r\n".join(["Title", "", SENDER_LINE, "", *("    " + ln for ln in HOSTILE.split("\n"))])
    notice = read_notice((body + "\r\n\r\nmore\r\n").encode())
    assert notice is not None
    assert not any(ch in notice for ch in "\x9b\x7f\u202e\u2028\x1b")
    assert notice.startswith("Ann2J Berg")
