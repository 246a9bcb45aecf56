"""Quality-inspection rules: the sample a period draws, the score of a form."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.quality import ClosedTicket, Criterion, QualityRules, ReviewForm, draw_sample, score

RULES = QualityRules(
    sample_per_handler=2,
    min_closed=2,
    criteria=(Criterion(name="a", title="A", points=60), Criterion(name="b", title="B", points=40)),
    pass_ratio=0.75,
)


def _closed(handler: str, count: int) -> list[ClosedTicket]:
    return [ClosedTicket(ticket_no=f"CS{handler}{n:04d}", handler=handler) for n in range(count)]


def test_sample_per_handler_fixed_by_the_period():
    closed = _closed("h1", 10) + _closed("h2", 3) + _closed("h3", 1)
    sample = draw_sample(closed, RULES, "QI-20240101-20240131")
    assert [t.handler for t in sample] == ["h1", "h1", "h2", "h2"]  # h3 closed fewer than min_closed
    assert draw_sample(list(reversed(closed)), RULES, "QI-20240101-20240131") == sample  # order does not matter
    others = {tuple(draw_sample(closed, RULES, f"QI-2024{m:02d}01-2024{m:02d}28")) for m in range(1, 13)}
    assert len(others) > 1  # another period draws another sample


def test_score_and_refusals():
    assert score(RULES, ReviewForm(marks={"a": 45, "b": 30})).model_dump() == {
        "points": 75,
        "possible": 100,
        "passed": True,
    }
    assert not score(RULES, ReviewForm(marks={"a": 44, "b": 30})).passed
    for marks, word in (({"a": 10}, "marks.b"), ({"a": 61, "b": 0}, "marks.a"), ({"a": 1, "b": 1, "c": 1}, "marks.c")):
        with pytest.raises(ValueError, match=word):
            score(RULES, ReviewForm(marks=marks))
    with pytest.raises(ValidationError):
        QualityRules(criteria=(Criterion(name="a", title="A", points=1), Criterion(name="a", title="B", points=1)))
