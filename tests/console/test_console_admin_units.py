"""Pieces of the administration and wording without a browser: the changes between document versions, the edited
document's parsing, task subjects and status reasons in the page's language."""

from __future__ import annotations

import pytest

from api.console.admin_documents import editable, parse_document
from api.console.rendering import gettext_for
from api.console.vocabulary import task_subject
from core.sla import default_sla_policy
from core.versions import Change, changes, leaves


def test_changes_name_each_leaf_added_removed_or_changed():
    before = {"name": "p", "version": 1, "a": {"b": 1, "c": [1, 2]}, "gone": True, "empty": {}}
    after = {"name": "p", "version": 2, "a": {"b": 2, "c": [1, 2, 3]}, "new": "x", "empty": {}}
    assert changes(before, after) == [
        Change(path="a.b", kind="changed", before=1, after=2),
        Change(path="a.c[2]", kind="added", after=3),
        Change(path="gone", kind="removed", before=True),
        Change(path="new", kind="added", after="x"),
    ]
    assert changes(before, before) == []
    assert changes({"x": 1}, {"x": True}) == [Change(path="x", kind="changed", before=1, after=True)]
    assert leaves({"e": [], "f": {}}) == {"e": [], "f": {}}


def test_the_edited_document_is_the_stored_one_without_its_identity():
    spec = default_sla_policy().model_dump(mode="json")
    body = parse_document(editable(spec))
    assert "name" not in body and "version" not in body
    assert changes(spec, body) == []
    for text, why in (("{", "not JSON"), ("[1]", "a JSON object"), ("x" * 200_001, "longer than")):
        with pytest.raises(ValueError, match=why):
            parse_document(text)


def test_task_subjects_and_status_reasons_read_in_the_page_language():
    zh, en = gettext_for("zh_CN"), gettext_for("en")
    subject = "CS202612020001: accept the ticket and set the expected resolution time"
    assert task_subject(subject, zh) == "CS202612020001: 受理工单并设定预计解决时间"
    assert task_subject(subject, en) == subject
    shown = task_subject(
        "CS1: extend the resolution deadline to 2026-12-05T02:00:00+00:00: 客户要求延期", zh, str.upper
    )
    assert shown == "CS1: 将解决期限延至 2026-12-05T02:00:00+00:00: 客户要求延期"  # the reason as written
    assert task_subject("CS1: rated dissatisfied: assign someone for the second follow-up", zh) == (
        "CS1: 评价为不满意: 指派人员进行二次回访"
    )
    check = "RC-7: item 2: sdwan mpls 100M at 北京, 上海 by 2026-12-30: can you serve it?"
    assert task_subject(check, zh) == "RC-7: 条目 2: sdwan mpls 100M，地点 北京, 上海，2026-12-30 前: 能否提供？"
    assert task_subject("ORD-1: 光缆施工", zh) == "ORD-1: 光缆施工"  # a step title: shown as written
    assert task_subject("CS1: forward the  complaint to the responsible department head", zh).startswith("CS1: 将")
    assert task_subject("accepted by engineer1", zh) == "engineer1 已受理"
    assert task_subject("reopened: 客户不满意", zh) == "已重开: 客户不满意"
    assert task_subject("resolve the issue quickly", zh) == "resolve the issue quickly"  # only whole phrases
