"""TRUNCATE of a ledger table is refused by trigger; the delete guard of 0009 runs as the owner.

Row triggers (pgtrigger.Protect, migration 0007's account guard) refuse UPDATE and DELETE, but
TRUNCATE fires no row trigger: `TRUNCATE ledger_journalentry`, `manage.py flush` or a `TRUNCATE
agencies_agency CASCADE` emptied the ledger without a word. A statement-level BEFORE TRUNCATE
trigger on every ledger table now refuses it (cascaded truncates fire it too).

Who this stops: the application's database role has no TRUNCATE privilege at all (see
apps/ledger/roles.py), so for the app this is a second wall. The owner could drop the trigger,
but a trigger is what catches the owner's mistakes. Disposable databases (the test suite's
flush between transactional tests, the benchmarks) set `fenrun.allow_ledger_truncate = on` for
their connection; nothing in production does.

`ledger_keeps_what_entries_name()` (0009) takes `LOCK TABLE ledger_journalentry IN SHARE MODE`,
which needs more than the SELECT and INSERT the app role holds on entries: it becomes SECURITY
DEFINER (it runs with its owner's rights, with a fixed search_path, temporary schema last), so a
creator or agency delete by the app role is still checked instead of failing on the lock.
"""

from django.db import migrations

_TABLES = (
    "ledger_account",
    "ledger_accountbalance",
    "ledger_accountperiodbalance",
    "ledger_journalentry",
    "ledger_ledgerhead",
    "ledger_posting",
    "ledger_rulesetsnapshot",
)

_FORWARD = (
    """
CREATE OR REPLACE FUNCTION ledger_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('fenrun.allow_ledger_truncate', true) = 'on' THEN
        RETURN NULL;  -- a disposable test or benchmark database
    END IF;
    RAISE EXCEPTION 'TRUNCATE of % is refused: ledger rows are never removed (a correction is a reversing entry)',
        TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""
    + "".join(
        f"""
CREATE TRIGGER ledger_refuse_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
"""
        for table in _TABLES
    )
    + """
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION ledger_keeps_what_entries_name() SECURITY DEFINER SET search_path = %I, pg_temp',
        current_schema()
    );
END;
$$;
"""
)

_BACKWARD = (
    "ALTER FUNCTION ledger_keeps_what_entries_name() SECURITY INVOKER RESET search_path;\n"
    + "".join(f"DROP TRIGGER IF EXISTS ledger_refuse_truncate ON {table};\n" for table in _TABLES)
    + "DROP FUNCTION IF EXISTS ledger_refuse_truncate();\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0009_entry_references_checked_per_statement"),
    ]

    operations = [migrations.RunSQL(sql=_FORWARD, reverse_sql=_BACKWARD)]
