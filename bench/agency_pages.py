"""The agency owner's income list at 1,000,000 lines (issue 14): server time of the page and of the
API list, first page, filtered pages and deep pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_bench_agency \\
        .venv/bin/python bench/agency_pages.py --creators 10000 --lines 1000000 --postings 3500000

Setup (not timed; the database's name must contain "bench": it is dropped and migrated):
bench/creator_pages.py's `seed`, reused as is: one agency, C creators with contracts, L recognised
lines (L / C per creator over the last 24 months, four sources and three platforms rotating),
their allocations and journal entries, balances rebuilt, VACUUM ANALYZE. `--measure-only` times
the pages on a database an earlier run seeded (after `manage.py migrate`, say).

Timed: N requests of each URL through Django's test Client, signed in as the agency's owner
(beforehand, not timed). Where a URL names something (a creator, a depth), each request draws
another at random (fixed seed):
* page 1: GET /income/ (50 newest lines with the creators' shares, the count up to 10,000);
* a month a year back; a platform and source; one creator (a random one each time);
* a deep page: the page that starts at a random depth between 100,000 and all the lines, reached
  by its cursor (the link a person following "Older" would hold);
* the same three through GET /api/v1/income/lines/.
Prints p50, p95 and max of the server time (middleware, view, every query, template) and the
queries per request.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fenrun_bench_agency")

DEEP_FROM = 100_000


def _depth_keys(agency_id: int, depths: list[int]) -> list[tuple[datetime.datetime, int]]:
    """(occurred_at, id) of the line at each depth of the agency's list, newest first (not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT occurred_at, id FROM (
                SELECT occurred_at, id, row_number() OVER (ORDER BY occurred_at DESC, id DESC) AS depth
                FROM income_incomeline WHERE agency_id = %s
            ) ranked WHERE depth = ANY(%s)
            """,
            [agency_id, depths],
        )
        return cursor.fetchall()


def _urls(
    agency_id: int, today: datetime.date, rng: random.Random, requests: int
) -> dict[str, Callable[[], str]]:
    from creator_pages import _month_back

    from apps.common.keyset import cursor_encode
    from apps.creators.models import Creator
    from apps.income.models import IncomeLine

    lines = IncomeLine.objects.filter(agency_id=agency_id).count()
    creators = list(Creator.objects.values_list("public_id", flat=True))
    deep = [
        cursor_encode(moment, pk, is_newer=False)
        for moment, pk in _depth_keys(
            agency_id, [rng.randint(DEEP_FROM, lines - 50) for _ in range(requests)]
        )
    ]
    month = f"{_month_back(today, 12):%Y-%m}"
    return {
        "page 1   GET /income/": lambda: "/income/",
        f"month    GET /income/?month={month}": lambda: f"/income/?month={month}",
        "filter   GET /income/?platform=kuaishou&source=live_gifts": lambda: (
            "/income/?platform=kuaishou&source=live_gifts"
        ),
        "creator  GET /income/?creator=<random>": lambda: f"/income/?creator={rng.choice(creators)}",
        "deep     GET /income/?cursor=<random depth>": lambda: f"/income/?cursor={rng.choice(deep)}",
        "api 1    GET /api/v1/income/lines/": lambda: "/api/v1/income/lines/",
        f"api month GET /api/v1/income/lines/?month={month}": lambda: f"/api/v1/income/lines/?month={month}",
        "api deep GET /api/v1/income/lines/?cursor=<random depth>": lambda: (
            f"/api/v1/income/lines/?cursor={rng.choice(deep)}"
        ),
    }


def measure(requests: int, today: datetime.date, sample_seed: int = 14) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import User
    from apps.agencies.models import Agency

    agency = Agency.objects.get(name="Bench MCN")
    owner = User.objects.get(email="bench-owner@example.test")
    rng = random.Random(sample_seed)
    urls = _urls(agency.pk, today, rng, requests)
    client = Client()
    client.force_login(owner)

    def mfa_passed() -> None:
        # The owner's role requires MFA: the middleware trusts a check for 5 minutes, and a slow
        # page's 100 requests take longer. Renewed before each request, outside the timer.
        session = client.session
        session["fenrun_mfa_ok"] = time.time()
        session.save()

    mfa_passed()
    for make in urls.values():  # the process's first pages compile templates and URL patterns
        assert client.get(make()).status_code == 200
    print(f"server time over {requests} requests each, the agency's owner:")
    for label, make in urls.items():
        timings: list[float] = []
        queries: set[int] = set()
        for index in range(requests):
            url = make()
            mfa_passed()
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            if index % 20 == 0:  # counted on another request: recording queries costs time
                mfa_passed()
                with CaptureQueriesContext(connection) as captured:
                    client.get(url)
                queries.add(len(captured))
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        counts = sorted(queries)
        print(
            f"  {label:58s} p50 {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms"
            f"  max {timings[-1]:7.1f} ms  queries {counts[0] if len(counts) == 1 else counts}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--postings", type=int, default=3_500_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--sample-seed", type=int, default=14)
    parser.add_argument(
        "--measure-only", action="store_true", help="time the pages on the database an earlier run seeded"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from apps.agencies.models import Agency
    from apps.agencies.time import agency_today

    if not args.measure_only:
        from creator_pages import seed

        print(f"seed (bench/creator_pages.py): {args.creators:,} creators, {args.lines:,} lines")
        seed(args.creators, args.lines, args.postings)
    today = agency_today(Agency.objects.get(name="Bench MCN"))
    measure(args.requests, today, args.sample_seed)


if __name__ == "__main__":
    main()
