"""Customer message templates: a versioned document an administrator edits (zh-CN first), rendered when a message
is queued.

One template per kind of message (`TEMPLATE_KINDS`), each with a subject (the e-mail subject; an SMS sends the text
only) and a text. Placeholders are `{name}` from the kind's own list; a document using any other placeholder, or a
resolution text without `{survey_link}`, is refused when published. A call (the customer's channel is the phone)
reads the text without the survey link: the rating is taken on the call or by the rating follow-up.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

MESSAGE_TEMPLATES_NAME = "customer"  # the one document new messages are rendered from

# kind -> the placeholders its templates may use
TEMPLATE_KINDS: dict[str, tuple[str, ...]] = {
    "registration": ("ticket_no",),
    "resolution": ("ticket_no", "cause", "solution", "advice", "survey_link"),
    "second_followup": ("ticket_no", "rating"),
    "cutover": ("order_id", "step", "window_start", "window_end"),
    "incident_holding": ("ticket_no",),
    "thread_reply": ("thread_id", "text"),
}
# kind -> (part, placeholder, why): what a template of that kind cannot do without
REQUIRED_PLACEHOLDERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "resolution": (("text", "survey_link", "the survey link {survey_link} is missing"),),
    "thread_reply": (
        ("text", "text", "the reply {text} is missing"),
        ("subject", "thread_id", "the thread number {thread_id} is missing (the customer's answer joins by it)"),
    ),
}
SECRET_PLACEHOLDERS = frozenset({"survey_link"})  # never in a call task, a log or anything but the message sent


class MessageTemplate(BaseModel):
    """The subject and text of one kind of customer message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=2000)


class MessageTemplates(BaseModel):
    """A versioned document of customer message templates; kinds it leaves out keep the built-in ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: int = 1
    locale: str = Field(default="zh-CN", max_length=16)
    templates: dict[str, MessageTemplate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_placeholders(self) -> MessageTemplates:
        for kind, template in self.templates.items():
            allowed = TEMPLATE_KINDS.get(kind)
            if allowed is None:
                raise ValueError(f"templates.{kind}: no such message (known: {', '.join(TEMPLATE_KINDS)})")
            for part in ("subject", "text"):
                for name in placeholders(getattr(template, part), where=f"templates.{kind}.{part}"):
                    if name not in allowed:
                        raise ValueError(
                            f"templates.{kind}.{part}: unknown placeholder {{{name}}} (allowed: {', '.join(allowed)})"
                        )
            for part, name, why in REQUIRED_PLACEHOLDERS.get(kind, ()):
                if name not in placeholders(getattr(template, part)):
                    raise ValueError(f"templates.{kind}.{part}: {why}")
            if SECRET_PLACEHOLDERS & set(placeholders(template.subject)):
                raise ValueError(f"templates.{kind}.subject: the survey link belongs in the text only")
        return self

    def template(self, kind: str) -> MessageTemplate:
        """This document's template of `kind`, else the built-in one."""
        return self.templates.get(kind) or DEFAULT_TEMPLATES[kind]


def placeholders(text: str, *, where: str = "template") -> list[str]:
    """The `{name}` placeholders in a template text; ValueError for a malformed one (e.g. an unclosed brace)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as err:
        raise ValueError(f"{where}: {err} (write a literal brace as {{{{ or }}}})") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{where}: placeholders are plain {{name}}, not {{{name}}}")
        names.append(name)
    return names


def render(text: str, fields: Mapping[str, str]) -> str:
    """A template text with its placeholders filled (a field the message lacks renders empty)."""
    return text.format_map({name: fields.get(name, "") for name in placeholders(text)})


def render_call(template: MessageTemplate, fields: Mapping[str, str]) -> str:
    """What an agent reads to the customer on a call: the text without any secret placeholder."""
    return render(template.text, {k: v for k, v in fields.items() if k not in SECRET_PLACEHOLDERS}).strip()


DEFAULT_TEMPLATES: dict[str, MessageTemplate] = {
    "registration": MessageTemplate(
        subject="您的工单 {ticket_no} 已受理 / Your ticket {ticket_no} is registered",
        text="【客响中心】您的工单已受理，工单号 {ticket_no}。查询进度时请提供此工单号，可致电客服或回复本消息。\n"
        "Your request is registered as ticket {ticket_no}; quote this number whenever you ask about it.",
    ),
    "resolution": MessageTemplate(
        subject="您的工单 {ticket_no} 已处理 / Your ticket {ticket_no} is resolved",
        text="【客响中心】您的工单 {ticket_no} 已处理完毕。\n原因 Cause: {cause}\n处理措施 Solution: {solution}\n"
        "建议 Advice: {advice}\n请评价本次服务 / How did we do? {survey_link}",
    ),
    "second_followup": MessageTemplate(
        subject="工单 {ticket_no} 回访 / A follow-up on ticket {ticket_no}",
        text="【客响中心】感谢您对工单 {ticket_no} 的评价。我们将安排专人再次回访，听取您的改进建议。\n"
        "Thank you for rating ticket {ticket_no}; a colleague will contact you again to hear how we can improve.",
    ),
    "cutover": MessageTemplate(
        subject="割接通知：订单 {order_id} / Cut-over notice: order {order_id}",
        text="【客响中心】尊敬的客户，您的电路（订单 {order_id}，{step}）计划于 {window_start} 至 {window_end} 割接，"
        "期间业务可能中断，请提前做好安排。\n"
        "Your circuit (order {order_id}, {step}) will be cut over between {window_start} and {window_end}.",
    ),
    "incident_holding": MessageTemplate(
        subject="您的工单 {ticket_no} 正在紧急处理 / Your ticket {ticket_no} is being handled urgently",
        text="【客响中心】您的工单 {ticket_no} 涉及的故障正在紧急处理中，恢复后我们会第一时间通知您。\n"
        "The fault behind your ticket {ticket_no} is being handled as an emergency; we will tell you as soon as "
        "service is restored.",
    ),
    "thread_reply": MessageTemplate(subject="[{thread_id}] 您的留言 / Your message", text="{text}"),
}
