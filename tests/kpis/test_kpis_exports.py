"""KPI tables as CSV and XLSX: the same figures as the JSON answer, chosen by `format=` or Accept, refused like
JSON for the wrong people, and never carrying a customer contact."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from api.kpis.export import table_file

PERIOD = {"from": "2026-10-01", "to": "2026-12-31"}


def _sheet_rows(content: bytes) -> list[dict[str, str]]:
    """The first sheet of an XLSX as rows keyed by the header row's names (shared strings resolved, blanks left out)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", book.read("xl/sharedStrings.xml").decode())
    grid: dict[int, dict[str, str]] = {}
    for column, row, kind, value in re.findall(
        r'<c r="([A-Z]+)(\d+)"(?: s="\d+")?( t="s")?[^>]*><v>([^<]*)</v>', sheet
    ):
        grid.setdefault(int(row), {})[column] = strings[int(value)] if kind else value
    header = grid.pop(1)
    return [{header[c]: v for c, v in cells.items()} for _, cells in sorted(grid.items())]


async def test_kpi_tables_export_as_csv_and_xlsx(http, login):
    supervisor = await login("supervisor1")
    listed = (await http.get("/api/kpis", headers=supervisor)).json()
    as_csv = await http.get("/api/kpis", params={"format": "csv"}, headers=supervisor)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="kpis.csv"' in as_csv.headers["content-disposition"]
    assert as_csv.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == [k["name"] for k in listed]
    assert rows[0]["filters"] == ", ".join(listed[0]["filters"])

    answer = (await http.get("/api/kpis/report_timeliness", params=PERIOD, headers=supervisor)).json()
    xlsx = await http.get("/api/kpis/report_timeliness", params={**PERIOD, "format": "xlsx"}, headers=supervisor)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    [values] = _sheet_rows(xlsx.content)
    assert values["name"] == "report_timeliness" and float(values["numerator"]) == answer["numerator"]
    assert float(values["target"]) == answer["target"] and float(values["counts.late"]) == answer["counts"]["late"]

    by_accept = await http.get(
        "/api/kpis/sla_breaches/breakdown",
        params={**PERIOD, "by": "department"},
        headers={**supervisor, "Accept": "text/csv"},
    )
    assert by_accept.status_code == 200 and by_accept.headers["content-type"].startswith("text/csv")
    json_items = (
        await http.get("/api/kpis/sla_breaches/breakdown", params={**PERIOD, "by": "department"}, headers=supervisor)
    ).json()["items"]
    exported = list(csv.DictReader(io.StringIO(by_accept.content.decode("utf-8-sig"))))
    assert [(r["who"], int(r["breaches"])) for r in exported] == [(i["who"], i["breaches"]) for i in json_items]

    bad = await http.get("/api/kpis", params={"format": "pdf"}, headers=supervisor)
    assert bad.status_code == 422 and "format" in bad.text
    refused = await http.get("/api/kpis/reopen_rate", params={**PERIOD, "format": "csv"}, headers=await login("agent1"))
    assert refused.status_code == 403


def test_exports_mask_contacts_in_every_text_cell():
    response = table_file("csv", [{"who": "客户 13812345678 来电", "n": 1, "nested": {"note": "a@b.cn"}}], "t")
    text = response.body.decode("utf-8-sig")
    assert "13812345678" not in text and "138****5678" in text and "a@b.cn" not in text
    assert text.splitlines()[0] == "who,n,nested.note"
