"""Income lines dated outside the business bounds: repaired, then refused by the database.

Before imports checked dates, a statement row dated 0001-01-01 was stored as a BC instant
(midnight in Asia/Shanghai is still 1 BC in UTC). psycopg cannot read such a value into Python,
so every page and API that listed the line answered 500: the agency's income list for all its
members, the creator's page (which lists their lines of every agency), and the periodic
recognition task, which stopped at that agency. Year 10000 and later fails the same way.

What this migration does with each line whose occurred_at lies outside the instants a business
date can stand for (apps.common.validators: 1899-12-31T00:00Z up to 2200-01-02T00:00Z, i.e.
1900-01-01 .. 2199-12-31 in any zone):

* nothing is deleted and its amount, key, account and import row stay as they are: the line
  stays visible and a person decides;
* `metadata["occurred_at_as_stored"]` keeps the stored instant as text, in the agency's time
  zone (for a statement date that is the date the row said), with the zone's name;
* occurred_at becomes the nearest bound, 1900-01-01T00:00Z or 2199-12-31T00:00Z, so that the
  line can be read, listed and sorted again (it sorts first or last, as before);
* a line not yet recognised nor dismissed goes to the exceptions queue as date_out_of_range
  with a sentence saying what happened and what to do (re-import the row with its right date,
  or dismiss the line); an earlier exception reason is kept in
  `metadata["exception_reason_before"]`. Recognised and dismissed lines keep their status (a
  ledger entry is never rewritten); none should exist, as no contract covers such a date.

Staged rows of unfinished imports with such a date become row errors of their import (as the
importer now reports them) and leave the staging table, so that their chunk does not fail on
the constraint. Then the check constraint income_line_occurred_in_bounds makes such a line
impossible from now on, whatever writes it. Not reversible in data (the stored instants are
kept in the metadata); the constraint is dropped on the way back.
"""

from django.db import migrations, models

import apps.common.validators

_REPAIR_LINES = """
UPDATE income_incomeline line SET
    metadata = line.metadata
        || jsonb_build_object(
            'occurred_at_as_stored',
            (line.occurred_at AT TIME ZONE agency.time_zone)::text || ' ' || agency.time_zone)
        || CASE WHEN line.exception_reason <> ''
                THEN jsonb_build_object('exception_reason_before', line.exception_reason)
                ELSE '{}'::jsonb END,
    occurred_at = CASE WHEN line.occurred_at < %(earliest)s THEN %(first_day)s ELSE %(last_day)s END,
    status = CASE WHEN line.status IN ('recognised', 'dismissed') THEN line.status ELSE 'exception' END,
    exception_reason = CASE WHEN line.status IN ('recognised', 'dismissed') THEN line.exception_reason
                            ELSE 'date_out_of_range' END,
    exception_detail = CASE WHEN line.status IN ('recognised', 'dismissed') THEN line.exception_detail
        ELSE 'Stored dated ' || (line.occurred_at AT TIME ZONE agency.time_zone)::text || ' ('
             || agency.time_zone || '), outside the accepted range 1900-01-01 to 2199-12-31; moved to '
             || CASE WHEN line.occurred_at < %(earliest)s THEN '1900-01-01' ELSE '2199-12-31' END
             || ' so that it can be shown. Re-import the statement row with its right date, or dismiss'
             || ' this line.' END,
    updated_at = now()
FROM agencies_agency agency
WHERE agency.id = line.agency_id
  AND (line.occurred_at < %(earliest)s OR line.occurred_at >= %(latest)s)
"""

_REPAIR_STAGED = """
WITH moved AS (
    DELETE FROM income_stagedline WHERE occurred_at < %(earliest)s OR occurred_at >= %(latest)s
    RETURNING statement_import_id, row_number
)
INSERT INTO income_importrowerror (statement_import_id, row_number, "column", reason)
SELECT statement_import_id, row_number, 'occurred_at',
       'The date is outside the accepted range, 1900-01-01 to 2199-12-31.'
FROM moved
"""


def _bounds() -> dict[str, object]:
    from datetime import UTC, datetime

    return {
        "earliest": apps.common.validators.EARLIEST_MOMENT,
        "latest": apps.common.validators.LATEST_MOMENT_EXCLUSIVE,
        "first_day": datetime(1900, 1, 1, tzinfo=UTC),
        "last_day": datetime(2199, 12, 31, tzinfo=UTC),
    }


def move_out_of_range_lines_to_the_queue(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_REPAIR_LINES, _bounds())
        cursor.execute(_REPAIR_STAGED, _bounds())


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0001_initial"),
        ("income", "0006_time_ordered_line_public_ids"),
    ]

    operations = [
        migrations.AlterField(
            model_name="incomeline",
            name="exception_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("unknown_account", "Unknown account"),
                    ("unmatched_deal", "No matching brand deal"),
                    ("partial", "Partial payment"),
                    ("overpaid", "Overpaid"),
                    ("amount_changed", "Re-issued with another amount"),
                    ("no_contract", "No contract in force"),
                    ("no_fx_rate", "No exchange rate recorded"),
                    ("engine_error", "The split rules refused the line"),
                    ("date_out_of_range", "Date outside the accepted range"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.RunPython(move_out_of_range_lines_to_the_queue, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incomeline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("occurred_at__gte", apps.common.validators.EARLIEST_MOMENT),
                    ("occurred_at__lt", apps.common.validators.LATEST_MOMENT_EXCLUSIVE),
                ),
                name="income_line_occurred_in_bounds",
            ),
        ),
    ]
