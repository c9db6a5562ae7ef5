"""The deferred balance check runs once per entry instead of once per posting.

Before: a deferred constraint trigger on every posting re-checked its entry at commit (an entry
with 4 postings was checked 5 times), only so that a posting added later to an already committed
entry would be caught. Now:

* the entry's deferred trigger (migration 0003) still checks, at commit, that every entry
  inserted in the transaction has at least two postings and balances per currency;
* a statement-level trigger on postings (one call per INSERT or COPY statement, with the
  statement's rows as a transition table) refuses postings whose entry was not inserted in the
  current transaction: postings are written with their entry, so every posting is covered by its
  entry's check at commit. An unbalanced append is refused with the balance message, a balanced
  one because a committed entry's postings are final.

"Inserted in the current transaction" is the entry row's xmin being one of this transaction's
(sub)transaction ids: pg_xact_status() says 'in progress' for exactly those (another
transaction's uncommitted entry is invisible here, and its posting's foreign key fails anyway).
"""

from django.db import migrations

_FORWARD = """
DROP TRIGGER IF EXISTS ledger_posting_balanced_at_commit ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_balanced_at_commit();

CREATE OR REPLACE FUNCTION ledger_postings_with_their_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current_xid bigint := pg_current_xact_id()::text::bigint;
    low bigint := current_xid & 4294967295;
    stale bigint;
BEGIN
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

CREATE TRIGGER ledger_postings_with_their_entry
    AFTER INSERT ON ledger_posting REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_with_their_entry();
"""

_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_postings_with_their_entry ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_postings_with_their_entry();

CREATE OR REPLACE FUNCTION ledger_posting_balanced_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_check_entry_balanced(NEW.entry_id);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced_at_commit
    AFTER INSERT ON ledger_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced_at_commit();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_drop_pgtrigger_balance_checks"),
    ]

    operations = [migrations.RunSQL(sql=_FORWARD, reverse_sql=_BACKWARD)]
