"""The outbox's pure rules: the retry budget's backoff, how a customer is reached, hub queries, TMF621 event types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.tmf.events import CHECKS, TICKETS
from core.hubs import HubQueryError, parse_query
from core.outbox import OutboxChannel, RetryBudget, customer_channel, outbox_key

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_backoff_doubles_to_its_cap_and_the_budget_ends_in_a_dead_letter():
    budget = RetryBudget(max_attempts=6, first_backoff_seconds=30, factor=2, max_backoff_seconds=200)
    waits = [budget.next_attempt_at(n, NOW) for n in range(1, 7)]
    assert [w - NOW for w in waits[:5] if w] == [timedelta(seconds=s) for s in (30, 60, 120, 200, 200)]
    assert waits[5] is None


def test_one_key_per_event_subject_and_recipient():
    assert outbox_key("e", "CS1", "hub:1") == outbox_key("e", "CS1", "hub:1") != outbox_key("e", "CS1", "hub:2")


@pytest.mark.parametrize(
    ("contact", "channel"),
    [
        ("lin@example.com", OutboxChannel.EMAIL),
        ("13812345678", OutboxChannel.SMS),
        ("+86 138-1234-5678", OutboxChannel.SMS),
        ("010-12345678", None),
        ("", None),
        (None, None),
    ],
)
def test_a_customer_is_reached_by_what_their_contact_allows(contact, channel):
    assert customer_channel(contact) == channel


def test_hub_queries_filter_by_event_type_and_resource_field():
    query = parse_query("troubleTicket", "eventType=TroubleTicketStatusChangeEvent&event.troubleTicket.status=resolved")
    assert query.matches("TroubleTicketStatusChangeEvent", {"status": "resolved"})
    assert not query.matches("TroubleTicketStatusChangeEvent", {"status": "inProgress"})
    assert not query.matches("TroubleTicketCreateEvent", {"status": "resolved"})
    assert parse_query("troubleTicket", None).matches("TroubleTicketCreateEvent", {})
    for bad in ("eventType=Nope", "status=resolved", "eventType", "event.troubleTicket.a-b=1"):
        with pytest.raises(HubQueryError):
            parse_query("troubleTicket", bad)


def test_changes_map_to_tmf_event_types():
    assert TICKETS.event_types(None, "acknowledged") == ["TroubleTicketCreateEvent"]
    assert TICKETS.event_types("resolved", "resolved") == ["TroubleTicketAttributeValueChangeEvent"]
    assert TICKETS.event_types("inProgress", "resolved") == [
        "TroubleTicketStatusChangeEvent",
        "TroubleTicketResolvedEvent",
    ]
    assert TICKETS.event_types("inProgress", "pending") == [
        "TroubleTicketStatusChangeEvent",
        "TroubleTicketInformationRequiredEvent",
    ]
    assert CHECKS.event_types("acknowledged", "inProgress") == ["CheckServiceQualificationStateChangeEvent"]
