"""Postings reference (account_id, currency): the database proves a posting's currency is its account's."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql="""
                ALTER TABLE ledger_posting
                    ADD CONSTRAINT ledger_posting_account_currency_fk
                    FOREIGN KEY (account_id, currency) REFERENCES ledger_account (id, currency)
                    ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE;
            """,
            reverse_sql="ALTER TABLE ledger_posting DROP CONSTRAINT ledger_posting_account_currency_fk;",
        ),
    ]
