"""The partitioned, spilling name check of the reader gives exactly the verdict
(and the message) of the one-at-a-time NameSet, spilled to disk or not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemedia.archive import name_check
from securemedia.archive.name_check import NameCheck
from securemedia.archive.paths import NameSet
from securemedia.errors import UnsafeMemberError

COMPONENT = st.sampled_from(["a", "A", "b", "café", "cafe\u0301", "ß", "SS", "ss"])
NAME = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
MEMBERS = st.lists(st.tuples(NAME, st.booleans()), max_size=12)


def _sequential(members: list[tuple[str, bool]]) -> str | None:
    names = NameSet()
    try:
        for name, is_dir in members:
            names.add(name, is_dir)
    except UnsafeMemberError as exc:
        return str(exc)
    return None


def _partitioned(members: list[tuple[str, bool]]) -> str | None:
    check = NameCheck()
    for number, (name, is_dir) in enumerate(members):
        check.add(number, name, is_dir)
    try:
        check.finish(lambda number: members[number][0])
    except UnsafeMemberError as exc:
        return str(exc)
    return None


@settings(max_examples=400, deadline=None)
@given(members=MEMBERS)
def test_same_verdict_as_the_one_at_a_time_check(members: list[tuple[str, bool]]) -> None:
    assert _partitioned(members) == _sequential(members)


@settings(max_examples=100, deadline=None)
@given(members=MEMBERS)
def test_same_verdict_when_spilled_to_disk(
    members: list[tuple[str, bool]],
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(name_check, "SPILL_BYTES", 50)  # a spill every couple of records
        assert _partitioned(members) == _sequential(members)


def test_many_names_spill_and_find_a_late_duplicate() -> None:
    members = [(f"d{i // 100}/f{i}", False) for i in range(300_000)] + [("D7/F700", False)]
    message = _partitioned(members)
    assert message == "duplicate member name 'D7/F700'"
