# Refunds that wait for their original (issue 16: concurrent overlapping imports): a new exception
# reason, refund_waiting, and a partial index on the agency's waiting refunds, which every chunk
# reads (a handful of lines; the agency's other exceptions are never read for it). A plain
# AddIndex, as every index of the project: the partial index holds no existing line, so it builds
# in one pass over the table without sorting anything.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0002_initial"),
        ("creators", "0002_platform_account_belongs_to_the_creator"),
        ("income", "0018_import_format_template"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
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
                    ("refund_waiting", "Refund waiting for its original"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="incomelineevent",
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
                    ("refund_waiting", "Refund waiting for its original"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="incomeline",
            index=models.Index(
                condition=models.Q(("exception_reason", "refund_waiting")),
                fields=["agency"],
                name="income_line_refund_waiting",
            ),
        ),
    ]
