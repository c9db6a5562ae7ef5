"""A creator's income history for the portal's tests (issue 14): lines spread over the last few
months of the agency's calendar, imported and recognised through the real pipeline, and the
creator's share of each read back the way the statements do (independently of the pages)."""

from __future__ import annotations

import datetime
from typing import Any

from apps.agencies.time import agency_today
from apps.income.models import IncomeLine, StatementImport
from apps.income.pipeline import statement_import_create, statement_import_run
from apps.recognition.models import LineAllocation
from apps.recognition.replay import rule_set_of_snapshot
from tests.contracts.conftest import active_contract
from tests.income.conftest import SIMPLE_RULES, upload

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
SOURCES = ("live_gifts", "platform_revenue_share", "ecommerce_commission")
# creator_a's accounts in statement_world
ACCOUNTS = (("douyin", "dy_88231"), ("youtube", "UCx9f3"))


def month_back(today: datetime.date, back: int) -> datetime.date:
    """The first day of the month `back` months before today's."""
    year, month = today.year, today.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime.date(year, month, 1)


def period_of(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def contract_for(world: Any, creator: Any, platforms: list[str], rules: dict[str, Any] | None = None) -> Any:
    """An active contract covering the last two years and the next one, whatever today is."""
    today = agency_today(world.agency_a)
    return active_contract(
        world,
        creator=creator,
        platforms=platforms,
        rule_set=rules or SIMPLE_RULES,
        start_date=month_back(today, 24),
        end_date=today.replace(year=today.year + 1),
    )


def history_rows(count: int, months: int, *, prefix: str, start: int = 0) -> list[str]:
    """`count` lines of creator_a over the last `months` months (the current one included): line
    i is in month i % months before this one, its source and platform rotate, its gross is
    100.00 + i yuan (a whole number of fen at 60 %: the shares have no rounding)."""
    today = agency_today("Asia/Shanghai")
    rows = []
    for number in range(start, start + count):
        back = number % months
        first = month_back(today, back)
        day = first if back == 0 else first + datetime.timedelta(days=(number // months) % 27)
        platform, account = ACCOUNTS[number % len(ACCOUNTS)]
        source = SOURCES[number % len(SOURCES)]
        rows.append(
            f"{prefix}-{number},{day.isoformat()}T00:00:01+08:00,{platform},{account},{source},"
            f"{100 + number}.00,CNY,,,"
        )
    return rows


def import_at(
    world: Any, rows: list[str], *, agency: Any = None, actor: Any = None, name: str = "h.csv"
) -> Any:
    statement_import = statement_import_create(
        agency=agency or world.agency_a,
        actor=actor or world.manager_a,
        file=upload(name, (HEADER + "".join(f"{row}\n" for row in rows)).encode()),
        enqueue=False,
    )
    done = statement_import_run(statement_import=statement_import)
    assert done.status == StatementImport.Status.DONE, done.message
    return done


def creator_share(line: IncomeLine) -> int:
    """The creator's payable of a recognised line, from its allocation (as statements read it)."""
    allocation = LineAllocation.objects.get(pk=line.pk)
    rule_set, _sha = rule_set_of_snapshot(allocation.rule_set_id, {})
    position = len(rule_set.rules[allocation.rule_index].part_ids) + rule_set.creator_index
    return int(allocation.amounts_minor[position])
