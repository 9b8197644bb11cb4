"""The form body: what any form parser reads back is exactly what was sent."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, strategies as st

from toplist_async._form import form_body

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]))


@given(st.dictionaries(TEXT, st.one_of(TEXT, st.integers())))
def test_a_form_body_reads_back_as_sent(body: dict[str, str | int]) -> None:
    decoded = parse_qsl(form_body(body).decode(), keep_blank_values=True)
    assert decoded == [(name, str(value)) for name, value in body.items()]


def test_ids_and_plain_words_go_as_they_are() -> None:
    body = {"action": "status", "orders": "1,22,333", "key": "sk-live_0.9~x"}
    assert form_body(body) == b"action=status&orders=1,22,333&key=sk-live_0.9~x"


def test_everything_else_is_quoted() -> None:
    body = {"link": "https://x.test/p?a=1&b=2", "comments": "hi there\nyo+"}
    assert form_body(body) == (
        b"link=https%3A%2F%2Fx.test%2Fp%3Fa%3D1%26b%3D2&comments=hi+there%0Ayo%2B"
    )
