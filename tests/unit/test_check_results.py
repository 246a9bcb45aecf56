"""Pure rules: the three check results and their TMF645 result, impossible wanted dates, an order's claim refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.reservations import ReservationState, ReservationStatus, claim_refusal
from core.resource_checks import (
    CheckItem,
    DepartmentAnswer,
    Feasibility,
    ItemChange,
    Line,
    Qualification,
    Round,
    serves,
    wanted_date_problem,
)

NOW = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # already 3 December on the center's clock
Q, A, U = Qualification.QUALIFIED, Qualification.ALTERNATE, Qualification.UNQUALIFIED


def _round(*answers: tuple[str, Qualification, bool]) -> Round:
    lines = [
        Line(
            item_id=item_id,
            department=f"d{index}",
            answer=DepartmentAnswer(
                result=result, new_construction=build, answered_by="x", answered_at=NOW, reasons="r"
            ),
        )
        for index, (item_id, result, build) in enumerate(answers)
    ]
    results: dict[str, Qualification] = {}
    for item_id, result, _ in answers:
        seen = results.get(item_id)
        results[item_id] = U if U in (seen, result) else A if A in (seen, result) else result
    order = {Q: 0, A: 1, U: 2}
    return Round(
        number=1,
        started_at=NOW,
        due_at=NOW,
        lines=lines,
        item_results=results,
        result=max(results.values(), key=order.__getitem__),
    )


def test_three_results_and_their_tmf_result():
    plain = _round(("1", Q, False))
    assert (plain.feasibility, plain.tmf_result()) == (Feasibility.FEASIBLE, Q)
    built = _round(("1", Q, False), ("1", Q, True), ("2", Q, False))
    assert built.feasibility == Feasibility.AFTER_CONSTRUCTION and built.tmf_result() == A
    assert (built.item_feasibility("2"), built.tmf_result("2")) == (Feasibility.FEASIBLE, Q)
    assert built.tmf_result("1") == A
    alternate = _round(("1", A, False))
    assert (alternate.feasibility, alternate.tmf_result()) == (Feasibility.FEASIBLE, A)
    not_feasible = _round(("1", Q, True), ("2", U, False))
    assert (not_feasible.feasibility, not_feasible.tmf_result()) == (Feasibility.NOT_FEASIBLE, U)
    assert Round(number=2, started_at=NOW, due_at=NOW).feasibility is None


def test_wanted_dates_on_the_centers_clock():
    assert "in the past" in wanted_date_problem(date(2026, 12, 2), NOW)  # yesterday in Beijing
    assert wanted_date_problem(date(2026, 12, 3), NOW) is None
    assert "after 2099-12-31" in wanted_date_problem(date(2100, 1, 1), NOW)


def test_a_change_applies_only_what_it_names_and_the_service_match():
    item = CheckItem(
        item_id="1",
        sites=("a",),
        service_type="internet",
        circuit_type="mpls-vpn",
        bandwidth="100M",
        wanted_date=date(2027, 3, 1),
    )
    changed = ItemChange(item_id="1", bandwidth="50M").applied_to(item)
    assert (changed.bandwidth, changed.sites, changed.wanted_date) == ("50M", ("a",), date(2027, 3, 1))
    assert serves(item, "mpls_vpn") and not serves(item, "ddn")
    assert serves(item.model_copy(update={"circuit_type": "digital"}), "digital_circuit")
    assert serves(item.model_copy(update={"circuit_type": None}), "atm")


def test_claim_refusals_name_why():
    held = ReservationState(
        reservation_id="R1", status=ReservationStatus.HELD, expires_at=NOW + timedelta(days=3), check_id="RC1"
    )
    ok = dict(now=NOW, check_customer="C1", order_customer="C1", resource_check_id="RC1", same_service=True)
    assert claim_refusal(held, **ok) is None
    cases = [
        (held.model_copy(update={"status": "claimed", "claimed_by_order": "SO9"}), {}, True, "claimed by order SO9"),
        (held.model_copy(update={"status": "released", "release_reason": "x"}), {}, True, "released (x)"),
        (held.model_copy(update={"status": "expired"}), {}, True, "expired"),
        (held.model_copy(update={"expires_at": NOW}), {}, True, "expired"),
        (held, {"resource_check_id": "RC2"}, False, "belongs to resource check RC1"),
        (held, {"order_customer": "C2"}, False, "another customer"),
        (held, {"same_service": False}, False, "another service"),
    ]
    for state, changes, unavailable, words in cases:
        refusal = claim_refusal(state, **{**ok, **changes})
        assert refusal is not None and refusal.unavailable is unavailable and words in refusal.message
