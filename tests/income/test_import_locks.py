"""Locks under real concurrency: staging an import holds its own row, never the agency's, so
the agency's people keep editing deals meanwhile; two deal edits of one agency do not queue."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from apps.deals.models import BrandDeal
from apps.deals.services import _lock, deal_update
from apps.income.models import StatementImport
from apps.income.pipeline import statement_import_create, statement_import_step
from tests.deals.conftest import deal

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency\n"


def _waiting_backends() -> int:
    with connection.cursor() as cursor:
        # pg_locks, not pg_stat_activity: that hides other sessions' waits from a role
        # without pg_read_all_stats.
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(cursor.fetchone()[0])


def _until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _edit_quickly(target: BrandDeal, actor, brand: str, errors: list[BaseException]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        deal_update(deal=target, actor=actor, brand=brand)
    except BaseException as error:  # the test asserts on it
        errors.append(error)
    finally:
        connection.close()


def test_a_deal_edit_completes_while_an_import_of_the_same_agency_is_staging(world) -> None:
    target = deal(world)
    statement_import = statement_import_create(
        agency=world.agency_a,
        actor=world.manager_a,
        file=SimpleUploadedFile(
            "s.csv", (HEADER + "A-1,2026-11-03,douyin,dy_a,live_gifts,1.00,CNY\n").encode()
        ),
        enqueue=False,
    )
    step_errors: list[BaseException] = []

    def stage() -> None:
        try:
            statement_import_step(import_id=statement_import.pk, enqueue=False)
        except BaseException as error:
            step_errors.append(error)
        finally:
            connection.close()

    # Hold the staging table so that the step stops in the middle of its transaction, after
    # its locks are taken and before its COPY.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE income_stagedline IN ACCESS EXCLUSIVE MODE")
        stager = threading.Thread(target=stage)
        stager.start()
        assert _until(lambda: _waiting_backends() >= 1), "the step never reached its COPY"
        edit_errors: list[BaseException] = []
        started = time.monotonic()
        editor = threading.Thread(
            target=_edit_quickly, args=(target, world.manager_a, "Milk Co", edit_errors)
        )
        editor.start()
        editor.join(20)
        took = time.monotonic() - started
    stager.join(30)

    assert edit_errors == [] and took < 3, (edit_errors, took)
    assert BrandDeal.objects.get(pk=target.pk).brand == "Milk Co"
    assert step_errors == []
    assert StatementImport.objects.get(pk=statement_import.pk).status == StatementImport.Status.RUNNING


def test_two_deal_edits_of_one_agency_do_not_wait_for_each_other(world) -> None:
    first, second = deal(world), deal(world, brand="Milk Co", campaign="Other")
    edit_errors: list[BaseException] = []
    with transaction.atomic():
        _lock(first)  # an edit of the first deal, in the middle of its transaction
        started = time.monotonic()
        editor = threading.Thread(target=_edit_quickly, args=(second, world.manager_a, "Soy Co", edit_errors))
        editor.start()
        editor.join(20)
        took = time.monotonic() - started

    assert edit_errors == [] and took < 3, (edit_errors, took)
    assert BrandDeal.objects.get(pk=second.pk).brand == "Soy Co"


def _settle_quickly(line, actor, errors: list[BaseException]) -> None:
    from apps.income.services import income_line_resolve

    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        income_line_resolve(line=line, actor=actor, dismiss_reason="Not ours")
    except BaseException as error:  # the test asserts on it
        errors.append(error)
    finally:
        connection.close()


def test_two_people_settling_queued_lines_of_one_agency_do_not_wait_for_each_other(world) -> None:
    from apps.income.models import IncomeLine
    from apps.income.services import income_line_resolve
    from tests.income.test_line_services import _line

    first, second = _line(world.agency_a), _line(world.agency_a)
    errors: list[BaseException] = []
    with transaction.atomic():
        # One settlement in the middle of its transaction: it holds its line's row, not the agency's.
        income_line_resolve(line=first, actor=world.manager_a, dismiss_reason="Not ours")
        started = time.monotonic()
        other = threading.Thread(target=_settle_quickly, args=(second, world.finance_a, errors))
        other.start()
        other.join(20)
        took = time.monotonic() - started

    assert errors == [] and took < 3, (errors, took)
    assert IncomeLine.objects.get(pk=second.pk).status == IncomeLine.Status.DISMISSED
