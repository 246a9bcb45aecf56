"""The message SLA and thread rules without a server: deadlines by channel × urgency × kind of day on the business
calendar (weekends, public holidays, make-up workdays), the policy's coverage check, what a message quotes, and the
inbound receiver's parsing."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from core.calendar import Budget, default_cn_calendar
from core.messages import (
    ThreadInput,
    thread_number_in,
    ticket_numbers_in,
    urgency_of_email,
)
from core.messages import deadlines as message_deadlines
from core.roles import Actor
from core.sla import MessageAckRule, MessageChannel, MessageSla, Urgency, default_message_sla, default_sla_policy
from infra.mail_inbound import MailRejected, parse_mail

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = default_cn_calendar()
SLA = default_message_sla()


def _message(at: datetime, urgency: Urgency = Urgency.GENERAL, channel: MessageChannel = MessageChannel.EMAIL):
    return ThreadInput(
        thread_id="MS20261202ABCDEF",
        channel=channel,
        urgency=urgency,
        received_at=at,
        contact="a@example.com",
        body="x",
        created_by=Actor(username="mail-intake"),
        request_id="r",
    )


@pytest.mark.parametrize(
    ("received", "urgency", "working_day", "acknowledge_within"),
    [
        (datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI), Urgency.GENERAL, True, timedelta(hours=24)),  # Wednesday
        (datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI), Urgency.URGENT, True, timedelta(hours=2)),
        (datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI), Urgency.GENERAL, False, timedelta(hours=48)),  # Saturday
        (datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI), Urgency.URGENT, False, timedelta(hours=2)),
        (datetime(2026, 10, 1, 9, 0, tzinfo=SHANGHAI), Urgency.GENERAL, False, timedelta(hours=48)),  # National Day
        (datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI), Urgency.GENERAL, True, timedelta(hours=24)),  # make-up Saturday
    ],
)
def test_acknowledgement_deadline_by_urgency_and_kind_of_day(received, urgency, working_day, acknowledge_within):
    for channel in MessageChannel:
        found_working_day, acknowledge, answer = message_deadlines(SLA, CALENDAR, _message(received, urgency, channel))
        assert found_working_day is working_day
        assert acknowledge - received == acknowledge_within
        assert answer >= acknowledge


def test_the_answer_is_due_in_24_working_hours_never_before_the_acknowledgement():
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    assert message_deadlines(SLA, CALENDAR, _message(wednesday))[2] - wednesday == timedelta(hours=24)
    friday = datetime(2026, 12, 4, 20, 0, tzinfo=SHANGHAI)  # 4 h left on Friday, 20 h on Monday
    assert message_deadlines(SLA, CALENDAR, _message(friday))[2] == datetime(2026, 12, 7, 20, 0, tzinfo=SHANGHAI)
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
    _, acknowledge, answer = message_deadlines(SLA, CALENDAR, _message(saturday))
    assert answer == max(acknowledge, datetime(2026, 12, 8, 0, 0, tzinfo=SHANGHAI))


def test_the_policy_must_cover_every_message_and_rules_match_in_order():
    with pytest.raises(ValidationError, match="no rule for a general online message received on a non-working day"):
        MessageSla(
            acknowledge=(
                MessageAckRule(channel=MessageChannel.EMAIL, budget=Budget(amount=2, unit="hours")),
                MessageAckRule(working_day=True, budget=Budget(amount=24, unit="hours")),
            ),
            answer_general=Budget(amount=24, unit="working_hours"),
            answer_complex=Budget(amount=48, unit="working_hours"),
        )
    online_faster = SLA.model_copy(
        update={
            "acknowledge": (
                MessageAckRule(channel=MessageChannel.ONLINE, budget=Budget(amount=1, unit="hours")),
                *SLA.acknowledge,
            )
        }
    )
    assert online_faster.acknowledge_budget(MessageChannel.ONLINE, Urgency.GENERAL, False).amount == 1
    assert online_faster.acknowledge_budget(MessageChannel.EMAIL, Urgency.GENERAL, False).amount == 48
    # A policy version published before message threads existed gets the default message SLA.
    stored = default_sla_policy().model_dump(mode="json")
    del stored["messages"]
    assert type(default_sla_policy()).model_validate(stored).messages == SLA


def test_what_a_message_quotes():
    text = "关于工单CS202612020007的进展，另见 CS202612020008；CS2026120200099 不是工单号"
    assert ticket_numbers_in(text, "再次 CS202612020007") == ["CS202612020007", "CS202612020008"]
    assert thread_number_in("Re: [MS20261202A1B2C3] 您的留言") == "MS20261202A1B2C3"
    assert thread_number_in("Re: 您的留言") is None
    assert urgency_of_email("账单", {"importance": "High"}) == Urgency.URGENT
    assert urgency_of_email("账单", {"x-priority": "1 (Highest)"}) == Urgency.URGENT
    assert urgency_of_email("【紧急】专线中断", {}) == Urgency.URGENT
    assert urgency_of_email("账单咨询", {"x-priority": "3"}) == Urgency.GENERAL


def test_parsing_takes_the_sender_the_text_and_refuses_what_it_cannot_use():
    now = datetime(2026, 12, 2, 2, 0, tzinfo=ZoneInfo("UTC"))
    message = EmailMessage()
    message["From"], message["Subject"] = "张经理 <zhang@example.com>", "  专线   咨询 "
    message.set_content("<p>不是 HTML</p>")
    message.add_alternative("<p>专线<b>中断</b></p>", subtype="html")
    parsed = parse_mail(message.as_bytes(), "bounce@example.com", now)
    assert (parsed.sender, parsed.subject, parsed.received_at) == ("zhang@example.com", "专线 咨询", now)
    assert parsed.body == "<p>不是 HTML</p>" and parsed.message_id.endswith("@kexiang.inbound>")
    assert parse_mail(message.as_bytes(), None, now).message_id == parsed.message_id  # the same content, one id
    html_only = EmailMessage()
    html_only["From"] = "li@example.com"
    html_only.set_content("<p>专线<b>中断</b></p>", subtype="html")
    assert parse_mail(html_only.as_bytes(), None, now).body.split() == ["专线", "中断"]
    nobody = EmailMessage()
    nobody.set_content("正文")
    with pytest.raises(MailRejected, match="sender") as refused:
        parse_mail(nobody.as_bytes(), "", now)
    assert refused.value.permanent
