"""A posting's entry and (account, currency) are checked once per statement, not once per row.

The foreign keys from postings to entries (deferred) and to (account id, currency) (migration
0002) ran one lookup with a row lock per posting: about 15 µs each, 132,000 of them for a
20,000-line recognition batch, a third of its database time. The statement-level trigger of
migration 0004, which already sees every INSERT or COPY's postings as a transition table, now
also proves with two joins that every posting names an existing entry and an existing account
of the posting's currency.

What the foreign keys' row locks guaranteed besides (the row still exists at commit) holds
because neither row can go: entries are protected from UPDATE and DELETE already, and accounts
are now too for DELETE and for a change of id or currency (an account is a permanent part of a
ledger; the app never deletes one).
"""

from django.db import migrations, models

_FORWARD = """
ALTER TABLE ledger_posting DROP CONSTRAINT IF EXISTS ledger_posting_account_currency_fk;

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
    SELECT e.id INTO stale
    FROM (SELECT DISTINCT entry_id FROM new_postings) AS p
    JOIN ledger_journalentry AS e ON e.id = p.entry_id
    WHERE pg_xact_status(greatest(
              current_xid + (e.xmin::text::bigint - low + 6442450944) % 4294967296 - 2147483648, 0
          )::text::xid8) IS DISTINCT FROM 'in progress'
    ORDER BY e.id
    LIMIT 1;
    IF stale IS NOT NULL THEN
        PERFORM ledger_check_entry_balanced(stale);  -- says "does not balance" when it no longer does
        RAISE EXCEPTION 'ledger entry % was committed earlier: postings are only written with their entry', stale
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_account_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger account % cannot be deleted: accounts are a permanent part of the ledger', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.id <> OLD.id OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'ledger account %: its id and currency never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_account_is_permanent
    BEFORE UPDATE OR DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_is_permanent();
"""

_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_account_is_permanent ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_is_permanent();

CREATE OR REPLACE FUNCTION ledger_postings_with_their_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_xid bigint := pg_current_xact_id()::text::bigint;
    low bigint := current_xid & 4294967295;
    stale bigint;
BEGIN
    SELECT e.id INTO stale
    FROM (SELECT DISTINCT entry_id FROM new_postings) AS p
    JOIN ledger_journalentry AS e ON e.id = p.entry_id
    WHERE pg_xact_status(greatest(
              current_xid + (e.xmin::text::bigint - low + 6442450944) % 4294967296 - 2147483648, 0
          )::text::xid8) IS DISTINCT FROM 'in progress'
    ORDER BY e.id
    LIMIT 1;
    IF stale IS NOT NULL THEN
        PERFORM ledger_check_entry_balanced(stale);
        RAISE EXCEPTION 'ledger entry % was committed earlier: postings are only written with their entry', stale
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

ALTER TABLE ledger_posting
    ADD CONSTRAINT ledger_posting_account_currency_fk
    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency)
    ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_entry_indexes_for_appends"),
    ]

    operations = [
        migrations.AlterField(
            model_name="posting",
            name="entry",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.PROTECT,
                related_name="postings",
                to="ledger.journalentry",
            ),
        ),
        migrations.RunSQL(sql=_FORWARD, reverse_sql=_BACKWARD),
    ]
