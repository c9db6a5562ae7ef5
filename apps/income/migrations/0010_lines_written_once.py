"""Income lines are facts, written once (issue 12).

Recognition no longer updates a line: its result (contract version, ledger entry, posting month,
conversion) is the recognition app's allocation of the line, so those columns go, and so does
the engine state per contract version (now recognition's EngineState). A database whose lines
were recognised the old way is refused with a sentence (see ledger migration 0011).
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0009_audit_history"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM income_incomeline WHERE status = 'recognised') THEN
                    RAISE EXCEPTION 'This database holds income lines recognised before issue 12 (their '
                        'splits are stored on ledger entries, which the new format does not read). '
                        'Re-create this database (make run on a fresh one), or keep the previous release.'
                        USING ERRCODE = 'feature_not_supported';
                END IF;
            END $$;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name="splitstate",
            name="contract_version",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="statementimport",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="statementimport",
            name="update_update",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="contract_version",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="fx_date",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="fx_rate",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="fx_source",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="ledger_entry",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="original_currency",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="original_gross_minor",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="posted_period",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="posting_note",
        ),
        migrations.RemoveField(
            model_name="incomeline",
            name="recognised_at",
        ),
        migrations.AddField(
            model_name="statementimport",
            name="recognition_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="statementimportevent",
            name="recognition_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="statementimport",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "income_statementimportevent" ("adjustment_count", "agency_id", "attempts", "chunk_count", "content_sha256", "created_at", "created_by_id", "duplicate_count", "encoding", "error_count", "exception_count", "file", "finished_at", "format", "id", "imported_count", "is_all_or_nothing", "message", "original_name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "public_id", "recognition_started_at", "rows_done", "rows_total", "started_at", "status", "updated_at") VALUES (NEW."adjustment_count", NEW."agency_id", NEW."attempts", NEW."chunk_count", NEW."content_sha256", NEW."created_at", NEW."created_by_id", NEW."duplicate_count", NEW."encoding", NEW."error_count", NEW."exception_count", NEW."file", NEW."finished_at", NEW."format", NEW."id", NEW."imported_count", NEW."is_all_or_nothing", NEW."message", NEW."original_name", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."public_id", NEW."recognition_started_at", NEW."rows_done", NEW."rows_total", NEW."started_at", NEW."status", NEW."updated_at"); RETURN NULL;',
                    hash="2c2ddb1d3876d8f197c5e30058cd941226ef7305",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_7fcfe",
                    table="income_statementimport",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="statementimport",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."status" IS DISTINCT FROM (NEW."status"))',
                    func='INSERT INTO "income_statementimportevent" ("adjustment_count", "agency_id", "attempts", "chunk_count", "content_sha256", "created_at", "created_by_id", "duplicate_count", "encoding", "error_count", "exception_count", "file", "finished_at", "format", "id", "imported_count", "is_all_or_nothing", "message", "original_name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "public_id", "recognition_started_at", "rows_done", "rows_total", "started_at", "status", "updated_at") VALUES (NEW."adjustment_count", NEW."agency_id", NEW."attempts", NEW."chunk_count", NEW."content_sha256", NEW."created_at", NEW."created_by_id", NEW."duplicate_count", NEW."encoding", NEW."error_count", NEW."exception_count", NEW."file", NEW."finished_at", NEW."format", NEW."id", NEW."imported_count", NEW."is_all_or_nothing", NEW."message", NEW."original_name", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."public_id", NEW."recognition_started_at", NEW."rows_done", NEW."rows_total", NEW."started_at", NEW."status", NEW."updated_at"); RETURN NULL;',
                    hash="5c5871b1e3b0cb6b60e9a93e2acb2d78cf14bde3",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_18931",
                    table="income_statementimport",
                    when="AFTER",
                ),
            ),
        ),
        migrations.DeleteModel(
            name="SplitState",
        ),
    ]
