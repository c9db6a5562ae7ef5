"""Import template fixtures: a statement no adapter knows, shaped as agencies get them (a note
above a Chinese header, amounts in fen with a direction column, a totals row), its mapping, and
templates made through the real services."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apps.importmaps.models import ImportTemplate
from apps.importmaps.services import import_template_create

HEADER = ["流水号", "日期", "抖音号", "收入类型", "金额(分)", "收支方向", "备注"]


def statement(
    *rows: str, note: str = "机构收入明细（导出时间：2026-12-01）", total: str | None = None
) -> bytes:
    """A CSV as the back office exports it: a note row, the header, the rows, a totals row."""
    lines = [note, ",".join(HEADER), *rows]
    if total is not None:
        lines.append(f"合计,,,,{total},,")
    return ("\n".join(lines) + "\n").encode("utf-8")


FIRST_FILE = statement(
    "LS-001,2026/11/03 10:00,dy_a,直播礼物,120450,入账,11月3日直播",
    "LS-002,2026/11/05,dy_a,带货佣金,30000,入账,",
    "LS-003,2026/11/07,dy_a,直播礼物,5000,出账,礼物退回",
    total="145450",
)
SECOND_FILE = statement(
    "LS-004,2026/12/01 20:30,dy_a,直播礼物,88800,入账,12月1日直播",
    "LS-005,2026/12/02,dy_a,带货佣金,1200,入账,",
    total="90000",
)

MAPPING: dict[str, Any] = {
    "fields": {
        "external_id": {"columns": ["流水号"]},
        "occurred_at": {"column": "日期"},
        "platform": {"constant": "douyin"},
        "account_id": {"column": "抖音号"},
        "source": {
            "column": "收入类型",
            "values": {"直播礼物": "live_gifts", "带货佣金": "ecommerce_commission"},
        },
        "gross": {
            "column": "金额(分)",
            "minor_units": True,
            "direction": {"column": "收支方向", "positive": ["入账"], "negative": ["出账"]},
        },
        "currency": {"constant": "CNY"},
        "description": {"column": "备注"},
    },
    "skip": [],
}


def mapping(**changes: Any) -> dict[str, Any]:
    """MAPPING with some fields replaced (None removes one)."""
    data = copy.deepcopy(MAPPING)
    for name, value in changes.items():
        if name == "skip":
            data["skip"] = value
        elif value is None:
            data["fields"].pop(name, None)
        else:
            data["fields"][name] = value
    return data


def make_template(world: Any, name: str = "Douyin back office", **options: Any) -> ImportTemplate:
    return import_template_create(
        agency=options.pop("agency", world.agency_a),
        actor=options.pop("actor", world.manager_a),
        name=name,
        header=options.pop("header", HEADER),
        header_row=options.pop("header_row", 2),
        mapping=options.pop("mapping", MAPPING),
    )


@pytest.fixture
def template(world: Any) -> ImportTemplate:
    return make_template(world)
