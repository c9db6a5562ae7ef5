"""The application's database role: plain DML everywhere, and on the ledger only what it needs.

Migrations run as the role that owns the tables; web, worker and beat connect as a second role
that `database_app_role_grant` (`manage.py db_roles_grant`, run by the owner after every
migrate) creates or updates. That role:

* reads and writes the ordinary tables (SELECT, INSERT, UPDATE, DELETE) and uses their sequences;
* on the ledger's append-only tables (entries, postings, accounts, and those other apps register,
  such as the recognition app's line allocations and rule set snapshots) may only
  SELECT and INSERT, and may also UPDATE the derived rows the ledger maintains in the same
  transaction (chain heads, account and month balances), never DELETE them;
* owns nothing and is no superuser, nor a member of the owner, so it cannot TRUNCATE, ALTER
  TABLE (DISABLE TRIGGER), DROP, or grant itself more; it cannot create objects in the schema
  or temporary tables (a temporary table named like a ledger table would shadow it inside the
  ledger's trigger functions, which name tables without a schema).

A role that was given more (superuser, member of the owner, owner of the database or schema) is
refused rather than silently kept. Every grant is re-stated on each run, so the command is
idempotent and also corrects a role changed by hand; default privileges cover tables the owner
creates later, and the ledger's own tables are classified here (a new ledger model must be
added to one of the two lists: tests/ledger/test_roles.py checks that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, models, transaction
from psycopg import errors, sql

from apps.ledger.models import (
    Account,
    AccountBalance,
    AccountPeriodBalance,
    JournalEntry,
    LedgerHead,
    Posting,
)

# Written once, never changed (their row triggers refuse UPDATE and DELETE as well).
APPEND_ONLY: tuple[type[models.Model], ...] = (JournalEntry, Posting, Account)
# Derived from the rows above and updated with every append (verify_ledger re-derives them).
MAINTAINED: tuple[type[models.Model], ...] = (LedgerHead, AccountBalance, AccountPeriodBalance)

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


class RoleError(Exception):
    """The role cannot be made (or kept) a restricted application role."""


@dataclass(frozen=True)
class TableRights:
    table: str
    rights: tuple[str, ...]  # of SELECT, INSERT, UPDATE, DELETE, TRUNCATE that the role holds


@dataclass(frozen=True)
class GrantReport:
    role: str
    created: bool
    tables: int
    ledger: tuple[TableRights, ...]


# Append-only tables of apps above the ledger that the chain covers (the recognition app's line
# allocations: a changed allocation breaks its entry's Merkle root). Registered from their
# AppConfig.ready(); the ledger imports none of them.
_registered_append_only: dict[str, type[models.Model]] = {}


def register_append_only(*tables: type[models.Model]) -> None:
    """Give the application role only SELECT and INSERT on these tables too."""
    for model in tables:
        _registered_append_only[model._meta.label] = model


def ledger_tables() -> dict[str, tuple[str, ...]]:
    """Each ledger table with exactly the privileges the application role gets on it."""
    append_only = (*APPEND_ONLY, *_registered_append_only.values())
    rights: dict[str, tuple[str, ...]] = {model._meta.db_table: ("SELECT", "INSERT") for model in append_only}
    rights.update({model._meta.db_table: ("SELECT", "INSERT", "UPDATE") for model in MAINTAINED})
    return rights


def _run(statement: sql.Composable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


def _one(query: str, params: list[str]) -> tuple[object, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def _table_rights(role: str, table: str) -> tuple[str, ...]:
    checked = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"has_table_privilege(%s, %s, '{right}')" for right in checked),
            [item for _ in checked for item in (role, table)],
        )
        row = cursor.fetchone()
    return tuple(right for right, held in zip(checked, row, strict=True) if held)


def database_app_role_grant(*, role: str, password: str | None = None) -> GrantReport:
    """Create or update `role` as the restricted application role of this database.

    Run as the owner of the tables (after `migrate`). `password`, when given, becomes the
    role's login password; without it an existing password is kept (and a new role has none,
    for servers that trust local connections, such as the embedded PostgreSQL).
    """
    if not _ROLE_NAME.fullmatch(role):
        raise RoleError(f"{role!r} is not a plain role name (lower-case letters, digits, underscores).")
    entries = JournalEntry._meta.db_table
    with transaction.atomic():
        row = _one(
            "SELECT current_user, current_database(), current_schema(), t.tableowner,"
            " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),"
            " current_setting('server_version_num')::int"
            " FROM pg_tables t WHERE t.schemaname = current_schema() AND t.tablename = %s",
            [entries],
        )
        if row is None:
            raise RoleError(f"Table {entries} does not exist here: run `manage.py migrate` first.")
        current, database, schema, owner, superuser, version = row
        assert isinstance(current, str) and isinstance(owner, str) and isinstance(version, int)
        if role in (current, owner):
            raise RoleError(
                f"{role!r} owns the tables (or is the role running this command): the application "
                "needs a role of its own."
            )
        if current != owner and not superuser:
            raise RoleError(f"Run this as {owner!r}, the owner of the tables (it runs as {current!r}).")

        existing = _one(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin"
            " FROM pg_roles WHERE rolname = %s",
            [role],
        )
        created = False
        name = sql.Identifier(role)
        if existing is None:
            try:
                with transaction.atomic():  # a concurrent first run may create it first
                    _run(sql.SQL("CREATE ROLE {} " + _ATTRIBUTES).format(name))
                created = True
            except Exception as error:
                if not isinstance(getattr(error, "__cause__", None), errors.DuplicateObject):
                    raise
        elif any(existing[:5]) or not existing[5]:
            _run(sql.SQL("ALTER ROLE {} " + _ATTRIBUTES).format(name))
        if password:
            _run(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))

        # Membership in any of these lends the role their rights (SET ROLE): the owner of a
        # table or of the schema can alter, empty or drop it, a superuser anything.
        powerful = _one(
            "SELECT string_agg(r.rolname, ', ' ORDER BY r.rolname) FROM pg_roles r"
            " WHERE pg_has_role(%s, r.oid, 'MEMBER') AND ("
            "  r.rolsuper OR r.rolname IN ('pg_write_all_data', 'pg_database_owner')"
            "  OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = current_schema() AND n.nspowner = r.oid)"
            "  OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            "             WHERE n.nspname = current_schema() AND c.relowner = r.oid))",
            [role],
        )
        if powerful is not None and powerful[0]:
            raise RoleError(
                f"{role!r} is or acts as {powerful[0]} (a superuser, the owner of tables, of the "
                "schema or of the database): it could alter or empty the ledger. Give the "
                "application a role without those memberships."
            )

        ledger = ledger_tables()
        db, nsp, owner_id = sql.Identifier(str(database)), sql.Identifier(str(schema)), sql.Identifier(owner)
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            # The app needs no temporary tables, and none may shadow a ledger table.
            "REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC",
            "REVOKE TEMPORARY ON DATABASE {db} FROM {role}",
            "REVOKE CREATE ON SCHEMA {nsp} FROM PUBLIC",
            "REVOKE CREATE ON SCHEMA {nsp} FROM {role}",
            "GRANT USAGE ON SCHEMA {nsp} TO {role}",
            "REVOKE ALL ON ALL TABLES IN SCHEMA {nsp} FROM {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {nsp} TO {role}",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {nsp} FROM {role}",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {nsp} TO {role}",
            # Tables and sequences the owner creates later (the next migrate) are usable at
            # once; the ledger's are narrowed by the next run of this command.
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {nsp}"
            " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {nsp} GRANT USAGE ON SEQUENCES TO {role}",
        ):
            _run(sql.SQL(statement).format(db=db, nsp=nsp, role=name, owner=owner_id))
        for table, rights in ledger.items():
            target = sql.Identifier(str(schema), table)
            _run(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(target))
            _run(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, name))
            _run(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(right) for right in rights), target, name
                )
            )
        if version >= 170000:
            # The import pipeline ANALYZEs its staging and income tables after a COPY (before
            # PostgreSQL 17 only the owner may; a non-owner's ANALYZE is skipped with a warning).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    " AND NOT (tablename = ANY(%s)) ORDER BY tablename",
                    [list(ledger)],
                )
                ordinary = [table for (table,) in cursor.fetchall()]
            for table in ordinary:
                _run(sql.SQL("GRANT MAINTAIN ON {} TO {}").format(sql.Identifier(str(schema), table), name))

        tables = _one("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()", [])
        held = tuple(TableRights(table, _table_rights(role, table)) for table in sorted(ledger))
        for holding in held:  # what PostgreSQL now says, PUBLIC's grants included
            if holding.rights != ledger[holding.table]:
                raise RoleError(
                    f"{role!r} holds {holding.rights} on {holding.table}, not {ledger[holding.table]}."
                )
    assert tables is not None
    return GrantReport(role=role, created=created, tables=int(str(tables[0])), ledger=held)
