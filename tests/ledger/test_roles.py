"""The ledger's own guard: the app's database role cannot rewrite the ledger; TRUNCATE is refused.

Issue 11: the app connected as the owner of the ledger tables, which can TRUNCATE them or
`ALTER TABLE … DISABLE TRIGGER`, rewrite and re-seal the chain. The suite itself runs as the owner
(pytest-django creates the test database); these tests make the app role with
`manage.py db_roles_grant`, connect as it, and show what it can and cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from psycopg import errors

from apps.creators.models import Creator
from apps.ledger.models import JournalEntry
from apps.ledger.roles import APPEND_ONLY, MAINTAINED, ledger_tables
from apps.ledger.services import EntryDraft, PostingSpec, ledger_post_many, ledger_reverse
from apps.ledger.verification import ledger_verify
from tests.factories import UserFactory
from tests.income.conftest import run_import, sign_contract, statement_world  # noqa: F401 - a fixture
from tests.ledger.conftest import DAY, Books, Kind, receive

PASSWORD = "app-role-test-password"


def test_every_ledger_model_is_classified() -> None:
    """A new ledger table must be declared append-only or maintained, or the role gets full DML."""
    models = set(apps.get_app_config("ledger").get_models())

    assert models == set(APPEND_ONLY) | set(MAINTAINED)
    assert not set(APPEND_ONLY) & set(MAINTAINED)


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(ledger_tables()))
def test_truncate_of_a_ledger_table_is_refused_even_to_the_owner(table: str) -> None:
    with connection.cursor() as cursor:
        # The test settings allow it for Django's flush between tests; production never does.
        cursor.execute("SET LOCAL fenrun.allow_ledger_truncate = off")
        with pytest.raises(DatabaseError, match=f"TRUNCATE of {table} is refused"), transaction.atomic():
            cursor.execute(f"TRUNCATE {table} CASCADE")


@pytest.mark.django_db(transaction=True)  # committed rows: a TRUNCATE refuses pending trigger events
def test_a_cascading_truncate_does_not_empty_the_ledger(books: Books) -> None:
    receive(books, 1_000, key="st1")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL fenrun.allow_ledger_truncate = off")
        with pytest.raises(DatabaseError, match="TRUNCATE of ledger_"), transaction.atomic():
            cursor.execute("TRUNCATE agencies_agency CASCADE")

    assert JournalEntry.objects.filter(agency=books.world.agency_a).count() == 1


# --- As the application's role -----------------------------------------------------------------


@pytest.fixture
def app_role(db: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test database's app role (one per database: roles are shared by the whole server)."""
    role = f"{connection.settings_dict['NAME']}_app"[:63]
    monkeypatch.setenv("FENRUN_TEST_APP_DB_PASSWORD", PASSWORD)
    call_command("db_roles_grant", role=role, password_env="FENRUN_TEST_APP_DB_PASSWORD")
    return role


def _connect(role: str) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        # The embedded server is reached by its socket directory, given as OPTIONS["host"].
        host=settings["HOST"] or settings["OPTIONS"].get("host") or None,
        port=settings["PORT"] or None,
        dbname=settings["NAME"],
        user=role,
        password=PASSWORD,
        autocommit=True,
    )


@contextmanager
def _django_as(role: str) -> Iterator[None]:
    """Django's own connection as the app role for the block (the owner's again afterwards)."""
    settings = connection.settings_dict
    saved = (settings["USER"], settings["PASSWORD"])
    connection.close()
    settings["USER"], settings["PASSWORD"] = role, PASSWORD
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (role,)
        yield
    finally:
        connection.close()
        settings["USER"], settings["PASSWORD"] = saved


REFUSED = [
    "TRUNCATE ledger_journalentry",
    "TRUNCATE ledger_posting, ledger_journalentry, ledger_ledgerhead",
    "TRUNCATE agencies_agency CASCADE",
    "ALTER TABLE ledger_journalentry DISABLE TRIGGER USER",
    "ALTER TABLE ledger_posting DISABLE TRIGGER ALL",
    "DROP TRIGGER ledger_refuse_truncate ON ledger_journalentry",
    "DROP TABLE ledger_posting",
    "UPDATE ledger_journalentry SET memo = 'rewritten'",
    "DELETE FROM ledger_journalentry",
    "UPDATE ledger_posting SET amount_minor = amount_minor + 1",
    "DELETE FROM ledger_posting",
    "DELETE FROM ledger_ledgerhead",
    "DELETE FROM ledger_accountbalance",
    "UPDATE ledger_account SET key = 'other'",
    "UPDATE recognition_rulesetsnapshot SET document = '{}'",
    # What the entries' Merkle roots commit to (registered by the recognition app).
    "UPDATE recognition_lineallocation SET gross_minor = 1",
    "DELETE FROM recognition_lineallocation",
    "TRUNCATE recognition_lineallocation",
    "UPDATE recognition_entrycover SET line_count = 0",
    # A temporary table would shadow the ledger's inside its own trigger functions.
    "CREATE TEMPORARY TABLE ledger_journalentry (id bigint)",
    "CREATE TABLE ledger_shadow (id bigint)",
]


@pytest.mark.django_db(transaction=True)
def test_the_app_role_cannot_rewrite_or_empty_the_ledger(books: Books, app_role: str) -> None:
    receive(books, 1_000, key="st1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()

    with _connect(app_role) as app:
        # pgtrigger's escape hatch for its UPDATE/DELETE triggers: privileges refuse first.
        app.execute("SET pgtrigger.ignore = 'ledger_journalentry:pgtrigger_protect_update_delete'")
        allowed = []
        for statement in [*REFUSED, f'SET ROLE "{owner}"', f'ALTER ROLE "{app_role}" SUPERUSER']:
            try:
                app.execute(statement)
            except errors.InsufficientPrivilege:
                continue
            allowed.append(statement)
        assert allowed == []
        # GRANT of what one does not hold only warns: nothing was granted.
        app.execute("GRANT UPDATE ON ledger_journalentry TO PUBLIC")
        assert app.execute("SELECT has_table_privilege('ledger_journalentry', 'UPDATE')").fetchone() == (
            False,
        )
        assert app.execute("SELECT count(*) FROM ledger_journalentry").fetchone() == (1,)

    call_command("verify_ledger")


@pytest.mark.django_db(transaction=True)
def test_the_app_posts_reverses_and_verifies_as_its_role(books: Books, app_role: str) -> None:
    world = books.world
    user = UserFactory.create(email="new.creator@example.test")

    with _django_as(app_role):
        first = receive(books, 50_000, key="st1")
        # The bulk path: ids from the sequence, COPY into entries and postings, balance upserts.
        ledger_post_many(
            agency=world.agency_a,
            drafts=[
                EntryDraft(
                    idempotency_key=f"bulk:{n}",
                    kind=Kind.INCOME_LINE,
                    effective_date=DAY,
                    postings=[PostingSpec(books.bank, 100 + n), PostingSpec(books.clearing, -100 - n)],
                )
                for n in range(5)
            ],
            bulk=True,
        )
        ledger_reverse(entry=first, idempotency_key="rev:st1", reason="posted twice")
        assert all(report.problems == [] for report in ledger_verify())
        call_command("verify_ledger")
        # A creator no ledger entry names can still be deleted: the guard of ledger migration
        # 0009 (a share lock on entries) runs with its owner's rights.
        creator = Creator.objects.create(user=user, display_name="Gone", legal_name="Gone Ltd")
        Creator.objects.filter(pk=creator.pk).delete()

    assert JournalEntry.objects.filter(agency=world.agency_a).count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_statement_is_imported_and_recognised_as_the_app_role(
    statement_world: Any,  # noqa: F811 - the income tests' fixture, imported above
    app_role: str,
) -> None:
    """The real income path: staging by COPY, ANALYZE, the advisory lock, the bulk ledger path."""
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    data = (
        b"external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
        b"G-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,\n"
        b"G-2,2026-11-04T10:00:00+08:00,douyin,dy_88231,live_gifts,-250.00,CNY,,G-1,refund\n"
    )

    with _django_as(app_role):
        done = run_import(world, "s.csv", data)
        call_command("verify_ledger")

    assert done.status == "done", done.status
    assert JournalEntry.objects.filter(agency=world.agency_a).count() == 2


@pytest.mark.django_db(transaction=True)
def test_granting_again_is_idempotent_and_refuses_the_owner(app_role: str, capsys: Any) -> None:
    call_command("db_roles_grant", role=app_role)
    out = capsys.readouterr().out
    assert f"Role {app_role} updated" in out
    assert "ledger_journalentry: SELECT, INSERT\n" in out
    assert "ledger_ledgerhead: SELECT, INSERT, UPDATE\n" in out

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="needs a role of its own"):
        call_command("db_roles_grant", role=owner)


@pytest.mark.django_db(transaction=True)
def test_tables_the_owner_creates_later_are_usable_by_the_app_role(app_role: str) -> None:
    """Default privileges: the next migrate's tables need no second grant to be read and written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE fenrun_later_table (id bigint GENERATED BY DEFAULT AS IDENTITY, note text)"
        )
    try:
        with _connect(app_role) as app:
            app.execute("INSERT INTO fenrun_later_table (note) VALUES ('x')")
            assert app.execute("SELECT count(*) FROM fenrun_later_table").fetchone() == (1,)
            with pytest.raises(errors.InsufficientPrivilege):
                app.execute("TRUNCATE fenrun_later_table")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE fenrun_later_table")


@pytest.mark.django_db(transaction=True)
def test_a_role_that_can_become_the_owner_is_refused(app_role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        cursor.execute(f'GRANT "{owner}" TO "{app_role}"')
    try:
        with pytest.raises(CommandError, match=f"is or acts as .*{owner}"):
            call_command("db_roles_grant", role=app_role)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'REVOKE "{owner}" FROM "{app_role}"')
