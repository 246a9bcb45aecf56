"""The quarterly report as files: a PDF (WeasyPrint, HTML template, SVG charts) and an XLSX with native charts.

Both are written in zh-CN from the same view of the report (`report_view`): its sections as titled tables.
Chinese needs a CJK font installed (fonts-noto-cjk, scripts/ensure_report_tools.sh); without one WeasyPrint
would print boxes, so rendering refuses instead.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from jinja2 import Environment, FileSystemLoader, select_autoescape

from activities.report_charts import monthly_chart, rates_chart
from core.kpis import BY_NAME

TEMPLATES = Path(__file__).resolve().parent / "templates"

# The report's own words (zh-CN): roles, statuses, priorities, results, task kinds as the read model spells them.
WORDS = {
    "agent": "坐席",
    "engineer": "工程师",
    "supervisor": "值班主管",
    "coordinator": "协调员",
    "department": "部门人员",
    "reviewer": "评审人",
    "auditor": "审计员",
    "admin": "管理员",
    "urgent": "紧急",
    "high": "高",
    "medium": "中",
    "low": "低",
    "-": "未定",
    "feasible": "可行",
    "feasible_after_construction": "建设后可行",
    "not_feasible": "不可行",
    "cancelled": "已撤销",
    "accepted": "已受理",
    "completed": "已完成",
    "in_progress": "处理中",
    "ordered": "已下单",
    "no_fit": "无匹配产品",
    "accept": "受理",
    "plan": "制定方案",
    "resolve": "解决",
    "callback": "投诉回访",
    "approval": "审批",
    "support": "协助处理",
    "rc_answer": "资源核查答复",
    "rc_review": "联合评审",
    "rc_requester": "核查结果确认",
    "construction": "网络建设部",
    "fixed-network": "固网部",
    "group-customer": "政企客户部",
    "hardware-engineering": "硬件工程部",
    "hq-operations": "总部运维部",
    "mobile-network": "移动网络部",
    "operations": "运维部",
    "procurement": "物资采购部",
    "product-support": "产品支撑部",
    "software-engineering": "软件工程部",
    "operation_report": "运行报告",
    "fault_report": "故障报告",
    "report_typical_cases": "季度报告典型案例",
    "report_problems": "季度报告问题与建议",
    "report_plan": "季度报告下季度计划",
    "report_approval": "季度报告审批",
}
KPI_TITLES = {
    "response_timeliness": "首次响应及时率",
    "plan_timeliness": "处理方案及时率",
    "resolution_timeliness": "解决及时率",
    "fault_handling_timeliness": "故障处理及时率",
    "resource_check_timeliness": "资源核查及时率",
    "activation_timeliness": "业务开通及时率",
    "report_timeliness": "报告（运行/故障/季度）及时率",
    "activation_cycle_time": "业务开通平均时长",
    "sla_breaches": "超时次数",
    "satisfaction_rate": "客户满意率",
    "second_followup_timeliness": "二次回访及时率",
    "complaint_callback_rate": "投诉回访率",
    "complaint_completion_48h": "投诉48小时办结率",
    "quality_score": "质检得分率",
    "staff_evaluation": "员工综合评价",
    "reopen_rate": "重开率",
    "callback_rate": "预约回访率",
}
MEAN_UNITS = {"hours": "小时"}


def word(value: Any) -> str:
    """A stored value in the report's Chinese (itself when there is no word for it)."""
    return WORDS.get(str(value), str(value))


def _table(title: str, head: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"title": title, "head": head, "rows": rows}


def _local(value: str | None, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "—"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _unit(k: dict[str, Any]) -> str:
    """The unit a mean KPI is measured in (zh-CN), or "" for a rate or a count."""
    kpi = BY_NAME.get(k["name"])
    return MEAN_UNITS[kpi.mean_unit] if kpi is not None and kpi.mean_unit else ""


def _is_rate(k: dict[str, Any]) -> bool:
    return k["denominator"] is not None and not _unit(k)


def _title(k: dict[str, Any]) -> str:
    unit = _unit(k)
    title = KPI_TITLES.get(k["name"], k["title"])
    return f"{title}（{unit}）" if unit else title


def _shown(k: dict[str, Any]) -> Callable[[float | None], str]:
    if _is_rate(k):
        return _rate
    unit = _unit(k)
    if unit:
        return lambda v: "—" if v is None else f"{v:.1f} {unit}"
    return lambda v: "—" if v is None else f"{v:g}"


def report_view(report: dict[str, Any], cases: list[dict[str, Any]], timezone: str) -> dict[str, Any]:
    """The report's sections as titled tables and texts, in the order both files print them."""
    zone = ZoneInfo(timezone)
    s = report["sections"]
    system, services, projects = s.get("system", {}), s.get("services", {}), s.get("projects", {})
    kpis = s.get("kpis", [])
    months = [m["month"] for m in kpis[0]["months"]] if kpis else []
    kpi_rows = []
    for k in kpis:
        show = _shown(k)
        met = {True: "达标", False: "未达标", None: "无数据"}[k["met"]]
        kpi_rows.append(
            [
                KPI_TITLES.get(k["name"], k["title"]),
                *[show(m["value"]) for m in k["months"]],
                show(k["value"]),
                show(k["target"]),
                met,
            ]
        )
    return {
        "title": report["title"],
        "quarter": s.get("quarter", ""),
        "period": f"{_local(report['period_start'], zone)[:10]} 至 "
        f"{(datetime.fromisoformat(report['period_end']) - timedelta(days=1)).astimezone(zone):%Y-%m-%d}",
        "due": _local(report["due_at"], zone),
        "approved_by": s.get("approved_by") or "—",
        "system": [
            _table(
                "人员配置（按角色）",
                ["角色", "人数"],
                [[word(r["role"]), r["people"]] for r in system.get("staff", [])],
            ),
            _table(
                "部门", ["部门", "人数"], [[word(r["department"]), r["people"]] for r in system.get("departments", [])]
            ),
        ],
        "customers": _table(
            "服务客户（按业务量）",
            ["客户编号", "客户名称", "服务工单", "资源核查", "开通订单"],
            [
                [r["customer_id"], r["customer_name"] or "—", r["tickets"], r["checks"], r["orders"]]
                for r in s.get("customers", [])
            ],
        ),
        "services": [
            _table(
                "服务工单（按优先级）",
                ["优先级", "受理", "已解决", "已关闭", "其中投诉"],
                [
                    [word(r["priority"]), r["registered"], r["resolved"], r["closed"], r["complaints"]]
                    for r in services.get("tickets", [])
                ],
            ),
            _table(
                "资源核查（按结论）",
                ["结论", "完成数", "按时数"],
                [[word(r["result"]), r["checks"], r["on_time"]] for r in services.get("checks", [])],
            ),
            _table(
                "电路开通（按类型）",
                ["电路类型", "竣工数", "按时数"],
                [[r["circuit_type"], r["completed"], r["on_time"]] for r in services.get("circuits", [])],
            ),
        ],
        "projects": [
            _table(
                "售前需求（按状态）",
                ["状态", "需求数"],
                [[word(r["status"]), r["demands"]] for r in projects.get("demands", [])],
            ),
            _table(
                "开通订单（按状态）",
                ["状态", "订单数"],
                [[word(r["status"]), r["orders"]] for r in projects.get("orders", [])],
            ),
        ],
        "work": _table(
            "完成的工作（按任务类型）",
            ["任务类型", "完成数", "其中超时"],
            [[word(r["kind"]), r["done"], r["late"]] for r in s.get("work", [])],
        ),
        "kpi_table": _table("指标", ["指标", *months, "本季度", "目标", "结果"], kpi_rows),
        "kpis": kpis,
        "months": months,
        "cases": cases,
        "problems": s.get("problems", ""),
        "suggestions": s.get("suggestions", ""),
        "plan": s.get("plan", ""),
        "writers": {
            "cases": s.get("typical_cases_by") or "—",
            "problems": s.get("problems_by") or "—",
            "plan": s.get("plan_by") or "—",
        },
    }


def _charts(view: dict[str, Any]) -> dict[str, Any]:
    rates = [k for k in view["kpis"] if _is_rate(k)]
    overview = rates_chart([(_title(k), k["value"], k["target"], k["met"]) for k in rates])
    monthly = [
        monthly_chart(
            _title(k),
            [(m["month"], m["value"]) for m in k["months"]],
            rate=_is_rate(k),
            target=k["target"],
            at_most=k["direction"] == "at_most",
        )
        for k in view["kpis"]
    ]
    return {"overview": overview, "monthly": monthly}


def cjk_font_installed() -> bool:
    """True when fontconfig knows a font covering Chinese (what WeasyPrint draws Chinese with)."""
    if shutil.which("fc-list") is None:
        return False
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def render_pdf(view: dict[str, Any]) -> bytes:
    """The report as a PDF (A4, zh-CN, charts as inline SVG)."""
    from weasyprint import HTML  # imported here: loading pango takes a while and only this activity needs it

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("quarterly_report.html.j2").render(view=view, charts=_charts(view))
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def render_xlsx(view: dict[str, Any]) -> bytes:
    """The report as a workbook: a sheet per section, the KPIs with native column and bar charts."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#dce6f1", "border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    pct = book.add_format({"num_format": "0.0%"})

    def sheet_of(name: str, tables: list[dict[str, Any]]) -> None:
        sheet = book.add_worksheet(name)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 8, 14)
        row = 0
        for table in tables:
            sheet.write(row, 0, table["title"], title)
            sheet.write_row(row + 1, 0, table["head"], bold)
            for i, values in enumerate(table["rows"]):
                sheet.write_row(row + 2 + i, 0, values)
            row += len(table["rows"]) + 4

    cover = book.add_worksheet("概览")
    cover.set_column(0, 0, 16)
    cover.set_column(1, 1, 60)
    cover.write(0, 0, view["title"], title)
    for i, (label, value) in enumerate(
        [("报告期", view["period"]), ("应交时间", view["due"]), ("审批人", view["approved_by"])], start=2
    ):
        cover.write(i, 0, label, bold)
        cover.write(i, 1, value)
    sheet_of("响应体系", view["system"])
    sheet_of("服务客户", [view["customers"]])
    sheet_of("服务交付", view["services"])
    sheet_of("项目支撑", view["projects"])
    sheet_of("工作开展", [view["work"]])

    kpi = book.add_worksheet("指标")
    months = view["months"]
    kpi.set_column(0, 0, 30)
    kpi.set_column(1, len(months) + 3, 12)
    kpi.write_row(0, 0, ["指标", *months, "本季度", "目标"], bold)
    rates = [k for k in view["kpis"] if _is_rate(k)]
    for i, k in enumerate(rates, start=1):
        kpi.write(i, 0, KPI_TITLES.get(k["name"], k["title"]))
        for j, value in enumerate([*(m["value"] for m in k["months"]), k["value"], k["target"]], start=1):
            if value is None:
                kpi.write_blank(i, j, None)
            else:
                kpi.write_number(i, j, value, pct)
    last = len(rates)
    if rates:
        by_month = book.add_chart({"type": "column"})
        for j, month in enumerate(months, start=1):
            by_month.add_series(
                {"name": month, "categories": ["指标", 1, 0, last, 0], "values": ["指标", 1, j, last, j]}
            )
        by_month.set_title({"name": "各月指标值"})
        by_month.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
        by_month.set_size({"width": 760, "height": 340})
        kpi.insert_chart(last + 3, 0, by_month)
        versus = book.add_chart({"type": "bar"})
        q, t = len(months) + 1, len(months) + 2
        versus.add_series({"name": "本季度", "categories": ["指标", 1, 0, last, 0], "values": ["指标", 1, q, last, q]})
        versus.add_series({"name": "目标", "categories": ["指标", 1, 0, last, 0], "values": ["指标", 1, t, last, t]})
        versus.set_title({"name": "本季度指标与目标"})
        versus.set_x_axis({"num_format": "0%", "min": 0, "max": 1})
        versus.set_size({"width": 760, "height": 340})
        kpi.insert_chart(last + 21, 0, versus)
    counts = [k for k in view["kpis"] if not _is_rate(k)]
    for i, k in enumerate(counts, start=last + 40):
        kpi.write(i, 0, _title(k))
        kpi.write_row(i, 1, [*(m["value"] for m in k["months"]), k["value"], k["target"]])

    cases = book.add_worksheet("典型案例")
    cases.set_column(0, 1, 18)
    cases.set_column(2, 5, 40)
    cases.write_row(0, 0, ["工单号", "客户", "标题", "现象", "原因", "处理"], bold)
    for i, c in enumerate(view["cases"], start=1):
        cases.write_row(
            i, 0, [c["ticket_no"], c["customer_name"] or "—", c["title"], c["symptom"], c["cause"], c["solution"]], wrap
        )
    texts = book.add_worksheet("问题建议与计划")
    texts.set_column(0, 0, 16)
    texts.set_column(1, 1, 100)
    for i, (label, value) in enumerate(
        [("存在问题", view["problems"]), ("改进建议", view["suggestions"]), ("下季度工作计划", view["plan"])]
    ):
        texts.write(i, 0, label, bold)
        texts.write(i, 1, value, wrap)
    book.close()
    return out.getvalue()
