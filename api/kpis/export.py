"""KPI tables as files: `?format=csv|xlsx` (or an Accept header naming either) on any /api/kpis table.

Cells are the JSON view's fields, nested ones flattened (`counts.neutral`); every text cell goes through the one
masking rule (core.contacts), so no customer contact can leave in an export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

import xlsxwriter
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel

from core.contacts import mask_contacts

ExportKind = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What the OpenAPI document says a table route also answers.
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA["csv"].split(";")[0]: {}, MEDIA["xlsx"]: {}}, "description": "JSON, CSV or XLSX"}
}


async def export_format(
    request: Request,
    format: Annotated[Literal["json", "csv", "xlsx"] | None, Query(description="json (default), csv or xlsx")] = None,
) -> ExportKind | None:
    """The file format asked for by `format=` or else by the Accept header; None for JSON (async: a plain `def`
    dependency would cost a thread hop per request)."""
    if format is not None:
        return None if format == "json" else format
    accept = request.headers.get("accept", "")
    kinds: tuple[ExportKind, ...] = ("xlsx", "csv")
    for kind in kinds:
        if MEDIA[kind].split(";")[0] in accept:
            return kind
    return None


ExportFormat = Annotated[ExportKind | None, Depends(export_format)]


def _cell(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return mask_contacts(value)
    if isinstance(value, list | tuple):
        return mask_contacts(", ".join(str(v) for v in value))
    return value


def _flat(row: BaseModel | dict[str, Any], prefix: str = "") -> dict[str, Any]:
    data = row.model_dump() if isinstance(row, BaseModel) else row
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = _cell(value)
    return out


def table_file(kind: ExportKind, rows: Sequence[BaseModel | dict[str, Any]], name: str) -> Response:
    """The rows as a CSV (UTF-8 with BOM, so spreadsheet programs read Chinese) or XLSX download."""
    flat = [_flat(row) for row in rows]
    columns = list(dict.fromkeys(key for row in flat for key in row))
    if kind == "csv":
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(flat)
        body = ("\ufeff" + text.getvalue()).encode("utf-8")
    else:
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {"in_memory": True})
        sheet = book.add_worksheet(name[:31])
        sheet.write_row(0, 0, columns, book.add_format({"bold": True}))
        for i, row in enumerate(flat, start=1):
            sheet.write_row(i, 0, [row.get(c) for c in columns])
        sheet.set_column(0, max(len(columns) - 1, 0), 16)
        book.close()
        body = out.getvalue()
    headers = {"Content-Disposition": f'attachment; filename="{name}.{kind}"'}
    return Response(body, media_type=MEDIA[kind], headers=headers)
