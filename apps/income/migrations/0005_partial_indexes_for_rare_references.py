"""Partial indexes for the income line references that few lines have (refund of, adjusts,
resolved by): a line without them no longer adds three entries of NULL to three B-trees on
insert and again on its recognition UPDATE (which is not HOT). Every query by these columns is
an equality, which implies NOT NULL, so PostgreSQL still uses the indexes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0002_initial"),
        ("contracts", "0003_builtin_templates"),
        ("creators", "0001_initial"),
        ("income", "0004_import_content_sha256"),
        ("ledger", "0007_posting_references_checked_per_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="incomeline",
            name="adjusts",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="For an amount_changed adjustment: the line whose re-issue it records.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="adjustments",
                to="income.incomeline",
            ),
        ),
        migrations.AlterField(
            model_name="incomeline",
            name="refund_of",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refunds",
                to="income.incomeline",
            ),
        ),
        migrations.AlterField(
            model_name="incomeline",
            name="resolved_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="incomeline",
            index=models.Index(
                condition=models.Q(("refund_of__isnull", False)),
                fields=["refund_of"],
                name="income_line_refund_of",
            ),
        ),
        migrations.AddIndex(
            model_name="incomeline",
            index=models.Index(
                condition=models.Q(("adjusts__isnull", False)), fields=["adjusts"], name="income_line_adjusts"
            ),
        ),
        migrations.AddIndex(
            model_name="incomeline",
            index=models.Index(
                condition=models.Q(("resolved_by__isnull", False)),
                fields=["resolved_by"],
                name="income_line_resolved_by",
            ),
        ),
    ]
