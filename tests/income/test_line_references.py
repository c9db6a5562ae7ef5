"""An income line's agency, creator, platform account and import are checked once per statement
(migration 0012) instead of by per-row foreign keys: a line naming something that does not exist
is refused, by INSERT, COPY or UPDATE, and what lines name cannot be deleted, by the ORM or by SQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from apps.income.models import IncomeLine, StatementImport
from tests.income.conftest import run_import, sign_contract
from tests.income.test_poison import GIFTS

pytestmark = pytest.mark.django_db
NOWHERE = 987_654_321  # an id no row has

COLUMNS = [
    ("agency_id", "agency"),
    ("creator_id", "creator"),
    ("platform_account_id", "platform account"),
    ("statement_import_id", "statement import"),
]


@pytest.fixture
def line(statement_world) -> IncomeLine:
    sign_contract(statement_world, statement_world.creator_a, ["douyin"])
    run_import(statement_world, "gifts.csv", GIFTS)
    return IncomeLine.objects.select_related("platform_account", "statement_import").get(external_id="G-1")


def _insert_copy(line: IncomeLine, **changes: object) -> None:
    """INSERT … SELECT a copy of the line under another external id, with `changes` applied."""
    assignments = "".join(f", {column} = %s" for column in changes)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE line_copy ON COMMIT DROP AS SELECT * FROM income_incomeline WHERE id = %s",
            [line.pk],
        )
        cursor.execute(
            "UPDATE line_copy SET id = nextval(pg_get_serial_sequence('income_incomeline', 'id')),"
            f" public_id = gen_random_uuid(), external_id = external_id || '-copy'{assignments}",
            list(changes.values()),
        )
        cursor.execute("INSERT INTO income_incomeline SELECT * FROM line_copy")
        cursor.execute("DROP TABLE line_copy")


def test_a_copy_of_an_honest_line_is_accepted(line: IncomeLine) -> None:
    _insert_copy(line)
    assert IncomeLine.objects.filter(external_id="G-1-copy", creator=line.creator).exists()


@pytest.mark.parametrize(("column", "label"), COLUMNS)
def test_a_line_naming_what_does_not_exist_is_refused(line: IncomeLine, column: str, label: str) -> None:
    with (
        pytest.raises(IntegrityError, match=f"income line names {label} {NOWHERE}, which does not exist"),
        transaction.atomic(),
    ):
        _insert_copy(line, **{column: NOWHERE})
    assert not IncomeLine.objects.filter(external_id="G-1-copy").exists()


@pytest.mark.parametrize(("column", "label"), COLUMNS)
def test_a_line_changed_to_name_what_does_not_exist_is_refused(
    line: IncomeLine, column: str, label: str
) -> None:
    with (
        pytest.raises(IntegrityError, match=f"income line names {label} {NOWHERE}"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE income_incomeline SET {column} = %s WHERE id = %s", [NOWHERE, line.pk])
    line.refresh_from_db()
    assert getattr(line, column) != NOWHERE


def test_a_staged_row_of_no_import_is_refused(line: IncomeLine) -> None:
    with (
        pytest.raises(IntegrityError, match=f"staged statement row names statement import {NOWHERE}"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO income_stagedline (statement_import_id, row_number, external_id, platform,"
            " account_id, source, gross_minor, currency, occurred_at, order_ref, refund_of,"
            " description, metadata) VALUES (%s, 2, 'X', 'douyin', 'a', 'live_gifts', 1, 'CNY',"
            " now(), '', '', '', '{}')",
            [NOWHERE],
        )


@pytest.mark.parametrize(
    ("table", "attribute"),
    [
        ("creators_platformaccount", "platform_account_id"),
        ("creators_creator", "creator_id"),
        ("agencies_agency", "agency_id"),
        ("income_statementimport", "statement_import_id"),
    ],
)
def test_what_a_line_names_cannot_be_deleted_by_sql(line: IncomeLine, table: str, attribute: str) -> None:
    with (
        pytest.raises(IntegrityError, match="is named by income lines: it cannot be deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [getattr(line, attribute)])
    with (
        pytest.raises(IntegrityError, match="is named by income lines"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET id = %s WHERE id = %s", [NOWHERE, getattr(line, attribute)])


def test_the_orm_still_protects_and_what_no_line_names_can_go(line: IncomeLine, statement_world) -> None:
    with pytest.raises(ProtectedError):
        line.platform_account.delete()
    empty = StatementImport.objects.create(
        agency=statement_world.agency_a, created_by=statement_world.manager_a, original_name="empty.csv"
    )
    empty.delete()  # names no line and no staged row: the trigger lets it go
    assert not StatementImport.objects.filter(pk=empty.pk).exists()
