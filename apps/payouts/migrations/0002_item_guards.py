"""What PostgreSQL enforces on payout items beyond their CHECKs (apps/payouts/models.py):

* an item belongs to its batch's agency and currency: a composite foreign key
  (batch_id, agency_id, currency) → payouts_payoutbatch (id, agency_id, currency), so the
  one-open-item index, which is per (agency, creator, currency), cannot be dodged by an item
  filed under another agency than its batch's;
* an item is inserted as prepared, and its status only moves forward: prepared → approved or
  cancelled, approved → paid or failed; paid, failed and cancelled are final. With the CHECK that
  a paid item names its paid entry, an item is paid at most once, whoever writes the row;
* what an item pays (batch, agency, creator, currency, gross, tax, net, method, month and the
  computation) never changes after insert, nor do the ledger entries and the payment reference
  once recorded; no item is ever deleted (its entries name it as their cause).

Plain SQL rather than pgtrigger: pgtrigger wraps each call in an exception block (a
subtransaction) to read its ignore list, and approval updates ten thousand items at once.
"""

from django.db import migrations

_FORWARD = """
ALTER TABLE payouts_payoutitem
    ADD CONSTRAINT payout_item_in_its_batch_agency_currency
    FOREIGN KEY (batch_id, agency_id, currency)
    REFERENCES payouts_payoutbatch (id, agency_id, currency)
    DEFERRABLE INITIALLY DEFERRED;

CREATE OR REPLACE FUNCTION payouts_item_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payout item % cannot be deleted: its ledger entries name it (cancel it instead)',
            OLD.public_id USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'prepared' THEN
            RAISE EXCEPTION 'a payout item is created prepared, not %', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.batch_id, NEW.agency_id, NEW.creator_id, NEW.currency, NEW.gross_minor, NEW.tax_minor,
        NEW.net_minor, NEW.method, NEW.period, NEW.withholding, NEW.public_id)
       IS DISTINCT FROM
       (OLD.batch_id, OLD.agency_id, OLD.creator_id, OLD.currency, OLD.gross_minor, OLD.tax_minor,
        OLD.net_minor, OLD.method, OLD.period, OLD.withholding, OLD.public_id) THEN
        RAISE EXCEPTION 'what payout item % pays cannot change once it is written', OLD.public_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF (OLD.tax_entry_id IS NOT NULL AND NEW.tax_entry_id IS DISTINCT FROM OLD.tax_entry_id)
       OR (OLD.approval_entry_id IS NOT NULL AND NEW.approval_entry_id IS DISTINCT FROM OLD.approval_entry_id)
       OR (OLD.paid_entry_id IS NOT NULL AND NEW.paid_entry_id IS DISTINCT FROM OLD.paid_entry_id)
       OR (OLD.failure_entry_id IS NOT NULL AND NEW.failure_entry_id IS DISTINCT FROM OLD.failure_entry_id)
       OR (OLD.tax_reversal_entry_id IS NOT NULL
           AND NEW.tax_reversal_entry_id IS DISTINCT FROM OLD.tax_reversal_entry_id)
       OR (OLD.reference <> '' AND NEW.reference IS DISTINCT FROM OLD.reference)
       OR (OLD.paid_at IS NOT NULL AND NEW.paid_at IS DISTINCT FROM OLD.paid_at) THEN
        RAISE EXCEPTION 'the ledger entries and payment reference of payout item % are recorded once',
            OLD.public_id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'prepared' AND NEW.status IN ('approved', 'cancelled'))
        OR (OLD.status = 'approved' AND NEW.status IN ('paid', 'failed'))
    ) THEN
        RAISE EXCEPTION 'payout item % cannot go from % to %', OLD.public_id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER payouts_item_guard BEFORE INSERT OR UPDATE OR DELETE ON payouts_payoutitem
    FOR EACH ROW EXECUTE FUNCTION payouts_item_guard();
"""

_BACKWARD = """
DROP TRIGGER IF EXISTS payouts_item_guard ON payouts_payoutitem;
DROP FUNCTION IF EXISTS payouts_item_guard();
ALTER TABLE payouts_payoutitem DROP CONSTRAINT IF EXISTS payout_item_in_its_batch_agency_currency;
"""


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [migrations.RunSQL(_FORWARD, _BACKWARD)]
