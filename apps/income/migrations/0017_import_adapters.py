# Issue 15: the adapters of real platform exports. The formats they are read as; the platform
# account and the month chosen at upload for exports that name none; which adapter read the
# file and why, and what it skipped (StatementImport.detection). Nullable or defaulted columns:
# no rewrite of the table. pghistory's event table gets the same columns and its triggers are
# re-created with them.

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('creators', '0002_platform_account_belongs_to_the_creator'),
        ('income', '0016_line_agency_time_index'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='statementimport',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='statementimport',
            name='update_update',
        ),
        migrations.AddField(
            model_name='statementimport',
            name='detection',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='statementimport',
            name='platform_account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='creators.platformaccount'),
        ),
        migrations.AddField(
            model_name='statementimport',
            name='statement_period',
            field=models.CharField(blank=True, default='', max_length=7),
        ),
        migrations.AddField(
            model_name='statementimportevent',
            name='detection',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='statementimportevent',
            name='platform_account',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='creators.platformaccount'),
        ),
        migrations.AddField(
            model_name='statementimportevent',
            name='statement_period',
            field=models.CharField(blank=True, default='', max_length=7),
        ),
        migrations.AlterField(
            model_name='statementimport',
            name='format',
            field=models.CharField(choices=[('auto', 'Detect'), ('canonical', 'Canonical CSV'), ('xlsx', 'Excel (canonical header)'), ('youtube', 'YouTube revenue report'), ('douyin', 'Douyin settlement bill'), ('yt_studio', 'YouTube Studio export'), ('yt_reporting', 'YouTube reporting revenue report'), ('doudian_settle', 'Douyin Shop settlement bill'), ('doudian_funds', 'Douyin Shop fund flow'), ('buyin_orders', 'Buyin order and commission export'), ('taobao_union', 'Taobao Union order report')], default='auto', max_length=16),
        ),
        migrations.AlterField(
            model_name='statementimportevent',
            name='format',
            field=models.CharField(choices=[('auto', 'Detect'), ('canonical', 'Canonical CSV'), ('xlsx', 'Excel (canonical header)'), ('youtube', 'YouTube revenue report'), ('douyin', 'Douyin settlement bill'), ('yt_studio', 'YouTube Studio export'), ('yt_reporting', 'YouTube reporting revenue report'), ('doudian_settle', 'Douyin Shop settlement bill'), ('doudian_funds', 'Douyin Shop fund flow'), ('buyin_orders', 'Buyin order and commission export'), ('taobao_union', 'Taobao Union order report')], default='auto', max_length=16),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='statementimport',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "income_statementimportevent" ("adjustment_count", "agency_id", "attempts", "chunk_count", "content_sha256", "created_at", "created_by_id", "detection", "duplicate_count", "encoding", "error_count", "exception_count", "file", "finished_at", "format", "id", "imported_count", "is_all_or_nothing", "lines_recognised", "message", "original_name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "platform_account_id", "public_id", "recognised_until_at", "recognised_until_creator_id", "recognised_until_id", "recognition_started_at", "rows_done", "rows_total", "started_at", "statement_period", "status", "updated_at") VALUES (NEW."adjustment_count", NEW."agency_id", NEW."attempts", NEW."chunk_count", NEW."content_sha256", NEW."created_at", NEW."created_by_id", NEW."detection", NEW."duplicate_count", NEW."encoding", NEW."error_count", NEW."exception_count", NEW."file", NEW."finished_at", NEW."format", NEW."id", NEW."imported_count", NEW."is_all_or_nothing", NEW."lines_recognised", NEW."message", NEW."original_name", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."platform_account_id", NEW."public_id", NEW."recognised_until_at", NEW."recognised_until_creator_id", NEW."recognised_until_id", NEW."recognition_started_at", NEW."rows_done", NEW."rows_total", NEW."started_at", NEW."statement_period", NEW."status", NEW."updated_at"); RETURN NULL;', hash='83b67403a658afce0b36db127b85127137a5487f', operation='INSERT', pgid='pgtrigger_insert_insert_7fcfe', table='income_statementimport', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='statementimport',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."status" IS DISTINCT FROM (NEW."status"))', func='INSERT INTO "income_statementimportevent" ("adjustment_count", "agency_id", "attempts", "chunk_count", "content_sha256", "created_at", "created_by_id", "detection", "duplicate_count", "encoding", "error_count", "exception_count", "file", "finished_at", "format", "id", "imported_count", "is_all_or_nothing", "lines_recognised", "message", "original_name", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "platform_account_id", "public_id", "recognised_until_at", "recognised_until_creator_id", "recognised_until_id", "recognition_started_at", "rows_done", "rows_total", "started_at", "statement_period", "status", "updated_at") VALUES (NEW."adjustment_count", NEW."agency_id", NEW."attempts", NEW."chunk_count", NEW."content_sha256", NEW."created_at", NEW."created_by_id", NEW."detection", NEW."duplicate_count", NEW."encoding", NEW."error_count", NEW."exception_count", NEW."file", NEW."finished_at", NEW."format", NEW."id", NEW."imported_count", NEW."is_all_or_nothing", NEW."lines_recognised", NEW."message", NEW."original_name", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."platform_account_id", NEW."public_id", NEW."recognised_until_at", NEW."recognised_until_creator_id", NEW."recognised_until_id", NEW."recognition_started_at", NEW."rows_done", NEW."rows_total", NEW."started_at", NEW."statement_period", NEW."status", NEW."updated_at"); RETURN NULL;', hash='4639badcb426f552dabb526fe90623b21957f119', operation='UPDATE', pgid='pgtrigger_update_update_18931', table='income_statementimport', when='AFTER')),
        ),
    ]
