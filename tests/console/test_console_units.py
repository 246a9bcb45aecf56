"""The console's pieces without a browser: the catalog, the session cookie, CSRF, form reading, SLA colours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from starlette.datastructures import FormData

from api.console.errors import split_errors
from api.console.forms import act_values, intake_values
from api.console.pages import WARNING_PERCENT, budget_share, share_colour
from api.console.rendering import Clock, gettext_for, translations
from api.console.session import new_session, read_session, session_key
from api.console.vocabulary import VOCABULARY, every_value
from api.schemas import TaskView
from core.roles import Actor
from infra.logging import redact, redact_target
from infra.security import issue_token
from infra.settings import Settings

CONSOLE = Path(__file__).resolve().parents[2] / "api" / "console"
SETTINGS = Settings(kexiang_env="test", token_secret="a-test-secret-long-enough-for-hs256-xxxxxxxx")


def _catalog() -> dict[str, str]:
    with (CONSOLE / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


def test_every_message_and_every_value_shown_has_its_chinese():
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = {
        message
        for _, _, message, _, _ in extract_from_dir(CONSOLE, method_map, keywords={"_": None, "N_": None})
        if isinstance(message, str)
    }
    assert every_value() <= set(VOCABULARY)  # a new status or choice must be listed for extraction
    catalog = _catalog()
    untranslated = sorted(m for m in found | every_value() if not catalog.get(m))
    assert untranslated == []
    assert translations("zh_CN").gettext("My work") == "我的工作"
    assert translations("en").gettext("My work") == "My work"
    assert gettext_for("en")("in_progress") == "In progress" and gettext_for("en")("resolution.cause") == "Cause"
    assert gettext_for("en")("%(span)s left") == "%(span)s left"


def test_countdowns_read_in_the_centers_zone():
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    zh = Clock("Asia/Shanghai", translations("zh_CN").gettext, now)
    assert zh.at(now) == "2026-12-02 11:00"
    assert zh.countdown(now + timedelta(hours=2, minutes=5)) == "剩余 2小时05分"
    assert zh.countdown(now - timedelta(days=1, hours=3)) == "已超时 1天3小时"
    en = Clock("Asia/Shanghai", translations("en").gettext, now)
    assert en.countdown(now + timedelta(minutes=7)) == "0h 07m left"


def test_a_session_is_signed_expiring_and_not_a_bearer_token():
    cookie, csrf = new_session(SETTINGS, "agent1")
    assert read_session(SETTINGS, cookie) == ("agent1", csrf)
    assert read_session(SETTINGS, cookie[:-2] + "xx") is None  # tampered
    assert read_session(Settings(kexiang_env="test", token_secret="another-secret-" + "x" * 40), cookie) is None
    bearer = issue_token(Actor(username="agent1"), secret=SETTINGS.token_secret, ttl=timedelta(hours=1))
    assert read_session(SETTINGS, bearer) is None  # an API token is no session
    old = datetime.now(UTC) - timedelta(days=2)
    expired = jwt.encode(
        {"sub": "agent1", "aud": "kexiang-console", "iat": old, "exp": old + timedelta(hours=8), "csrf": "x"},
        session_key(SETTINGS),
        algorithm="HS256",
    )
    assert read_session(SETTINGS, expired) is None


def test_api_messages_land_at_their_fields():
    detail = "occurred_at: must not be in the future; body: nothing to change; contact: too long"
    assert split_errors(detail, {"occurred_at", "contact"}) == (
        {"occurred_at": "must not be in the future", "contact": "too long"},
        ["body: nothing to change"],
    )
    assert split_errors("accept: this ticket is assigned to operations", {"expected_resolution_at"}) == (
        {},
        ["accept: this ticket is assigned to operations"],
    )


def test_forms_read_times_in_the_centers_zone_and_leave_empty_fields_out():
    form = FormData(
        [("customer_name", " 华信 "), ("occurred_at", "2026-12-02T09:30"), ("categories", "complaint"), ("contact", "")]
    )
    values = intake_values(form, "Asia/Shanghai")
    assert values["customer_name"] == "华信" and values["categories"] == ["complaint"] and "contact" not in values
    assert values["occurred_at"].utcoffset() == timedelta(hours=8)
    resolve = act_values("resolve", FormData([("resolution.cause", "老化"), ("resolution.channel", "phone")]), "UTC")
    assert resolve == {
        "type": "resolve",
        "resolution": {"cause": "老化", "solution": "", "advice": "", "channel": "phone"},
    }


@pytest.mark.parametrize(("elapsed", "colour"), [(10, "green"), (WARNING_PERCENT, "amber"), (100, "red"), (250, "red")])
def test_budget_share_colours(elapsed, colour):
    opened = datetime(2026, 12, 1, tzinfo=UTC)
    task = TaskView.model_validate(
        {
            "task_id": "t",
            "workflow_id": "w",
            "kind": "accept",
            "subject": "s",
            "opened_at": opened,
            "due_at": opened + timedelta(hours=100),
            "overdue": False,
            "completion": {"by": "decision", "outcomes": ["done"], "acts": []},
        }
    )
    share = budget_share(task, opened + timedelta(hours=elapsed))
    assert share == elapsed and share_colour(share) == colour


def test_the_survey_pages_secret_never_reaches_a_log():
    assert redact('"GET /survey/AbC-12_xyzAbC-12_xyzAbC-12 HTTP/1.1" 200') == '"GET /survey/*** HTTP/1.1" 200'
    assert redact_target("/survey/abc?lang=en") == "/survey/***?lang=***"
