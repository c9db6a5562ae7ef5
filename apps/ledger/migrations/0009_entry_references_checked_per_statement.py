"""A journal entry's agency, creator and rule set snapshot are checked once per statement.

Their deferred foreign keys ran one lookup with a row lock per entry and column, at commit: about
12 µs a line of a recognition batch (bench/write_floor.py with the three keys dropped by hand:
deferred checks 2.41 → 1.45 s for 80,000 lines; this trigger's own cost not included). A
statement-level trigger now sees each INSERT or COPY's entries as a transition
table and proves with one anti-join per column that every agency, creator and snapshot named
exists.

What the foreign keys guaranteed besides (the row is not deleted while an entry names it)
holds by triggers: snapshots were already protected from UPDATE and DELETE, and an agency or
a creator that a ledger entry names can no longer be deleted or change id (the app never does;
its ORM relations are PROTECT as before). Such a delete first takes a SHARE lock on the entries
table, so it waits for the transactions adding entries and then sees their rows (the foreign
keys' row locks did that for every entry); the look-ups use the (agency, seq) and (creator,
effective_date) indexes. The author (manual adjustments only) keeps its foreign key.
"""

from django.db import migrations, models

_FORWARD = """
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
    SELECT n.rule_set_id INTO missing
    FROM (SELECT DISTINCT rule_set_id FROM new_entries WHERE rule_set_id IS NOT NULL) AS n
    LEFT JOIN ledger_rulesetsnapshot AS s ON s.id = n.rule_set_id
    WHERE s.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry names rule set snapshot %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_entries_with_their_references
    AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_with_their_references();

CREATE OR REPLACE FUNCTION ledger_keeps_what_entries_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    -- Wait for the transactions that are adding entries (they hold ROW EXCLUSIVE) and see their
    -- rows: without it, an entry copied but not yet committed would not stop the delete. What
    -- the foreign keys' row locks did, paid here by the rare delete instead of by every entry.
    LOCK TABLE ledger_journalentry IN SHARE MODE;
    IF TG_TABLE_NAME = 'agencies_agency' THEN
        PERFORM 1 FROM ledger_journalentry WHERE agency_id = OLD.id LIMIT 1;
    ELSE
        PERFORM 1 FROM ledger_journalentry WHERE creator_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION '% % is named by ledger entries: it cannot be deleted or change id', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER ledger_keeps_what_entries_name
    BEFORE UPDATE OR DELETE ON agencies_agency
    FOR EACH ROW EXECUTE FUNCTION ledger_keeps_what_entries_name();
CREATE TRIGGER ledger_keeps_what_entries_name
    BEFORE UPDATE OR DELETE ON creators_creator
    FOR EACH ROW EXECUTE FUNCTION ledger_keeps_what_entries_name();
"""

_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_keeps_what_entries_name ON agencies_agency;
DROP TRIGGER IF EXISTS ledger_keeps_what_entries_name ON creators_creator;
DROP FUNCTION IF EXISTS ledger_keeps_what_entries_name();
DROP TRIGGER IF EXISTS ledger_entries_with_their_references ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entries_with_their_references();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0001_initial"),
        ("creators", "0001_initial"),
        ("ledger", "0008_time_ordered_entry_public_ids"),
    ]

    operations = [
        migrations.RunSQL(sql=_FORWARD, reverse_sql=_BACKWARD),
        migrations.AlterField(
            model_name="journalentry",
            name="agency",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.PROTECT,
                related_name="ledger_entries",
                to="agencies.agency",
            ),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="creator",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="ledger_entries",
                to="creators.creator",
            ),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="rule_set",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="entries",
                to="ledger.rulesetsnapshot",
            ),
        ),
    ]
