"""Entries record money and name the lines they cover; the ledger keeps no split (issue 12).

* The split columns (rule set snapshot, engine line and state, rule id, trace, contract version)
  and the snapshot table go: the recognition app now stores each line's allocation once, and an
  entry that aggregates lines holds their Merkle root and count, which the chain covers.
* A database that holds entries of the old format is refused with a sentence instead of being
  left with a chain nobody can verify any more: re-create it (a development database) or keep
  the release before this one.
* The postings' statement trigger no longer orders the committed-entry probe: `ORDER BY e.id
  LIMIT 1` made the planner walk the entries' primary key from the start of the ledger, 2.6 s
  per 20,000-line batch at a million entries and growing; any stale entry is enough to refuse.
* The entries' statement trigger stops checking rule set snapshots (the column is gone).
"""

from django.db import migrations, models

_REFUSE_OLD_LEDGER = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_journalentry WHERE engine_line IS NOT NULL OR trace IS NOT NULL) THEN
        RAISE EXCEPTION 'This database holds ledger entries that store splits (the format before issue 12). '
            'Recognition now stores line allocations and entries name their lines by a Merkle root; '
            'the old entries cannot be converted. Re-create this database (make run on a fresh one), '
            'or keep the previous release.' USING ERRCODE = 'feature_not_supported';
    END IF;
END $$;
"""

_TRIGGERS = """
CREATE OR REPLACE FUNCTION ledger_entries_with_their_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.agency_id INTO missing
    FROM (SELECT DISTINCT agency_id FROM new_entries) AS n
    LEFT JOIN agencies_agency AS a ON a.id = n.agency_id
    WHERE a.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry names agency %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.creator_id INTO missing
    FROM (SELECT DISTINCT creator_id FROM new_entries WHERE creator_id IS NOT NULL) AS n
    LEFT JOIN creators_creator AS c ON c.id = n.creator_id
    WHERE c.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry names creator %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_postings_with_their_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_xid bigint := pg_current_xact_id()::text::bigint;
    low bigint := current_xid & 4294967295;
    stale bigint;
    missing_entry bigint;
    missing_account bigint;
    missing_currency text;
BEGIN
    SELECT p.entry_id INTO missing_entry
    FROM (SELECT DISTINCT entry_id FROM new_postings) AS p
    LEFT JOIN ledger_journalentry AS e ON e.id = p.entry_id
    WHERE e.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting names entry %, which does not exist', missing_entry
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT p.account_id, p.currency INTO missing_account, missing_currency
    FROM (SELECT DISTINCT account_id, currency FROM new_postings) AS p
    LEFT JOIN ledger_account AS a ON a.id = p.account_id AND a.currency = p.currency
    WHERE a.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting names account % in %: no such account holds that currency',
            missing_account, missing_currency
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- xmin is a 32-bit xid: widen it to the full xid nearest to ours (xids compare modulo 2^32,
    -- as PostgreSQL itself compares them; a subtransaction's xid is above the top-level one).
    -- No ORDER BY: any committed entry refuses the statement (see the module docstring).
    SELECT e.id INTO stale
    FROM (SELECT DISTINCT entry_id FROM new_postings) AS p
    JOIN ledger_journalentry AS e ON e.id = p.entry_id
    WHERE pg_xact_status(greatest(
              current_xid + (e.xmin::text::bigint - low + 6442450944) % 4294967296 - 2147483648, 0
          )::text::xid8) IS DISTINCT FROM 'in progress'
    LIMIT 1;
    IF stale IS NOT NULL THEN
        PERFORM ledger_check_entry_balanced(stale);  -- says "does not balance" when it no longer does
        RAISE EXCEPTION 'ledger entry % was committed earlier: postings are only written with their entry', stale
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0010_refuse_truncate"),
    ]

    operations = [
        migrations.RunSQL(sql=_REFUSE_OLD_LEDGER, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql=_TRIGGERS, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveField(
            model_name="journalentry",
            name="rule_set",
        ),
        migrations.RemoveField(
            model_name="journalentry",
            name="contract_version_id",
        ),
        migrations.RemoveField(
            model_name="journalentry",
            name="engine_line",
        ),
        migrations.RemoveField(
            model_name="journalentry",
            name="engine_state",
        ),
        migrations.RemoveField(
            model_name="journalentry",
            name="rule_id",
        ),
        migrations.RemoveField(
            model_name="journalentry",
            name="trace",
        ),
        migrations.AddField(
            model_name="journalentry",
            name="line_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="journalentry",
            name="lines_root",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.DeleteModel(
            name="RuleSetSnapshot",
        ),
    ]
