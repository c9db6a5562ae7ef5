# A dispute_correction account purpose (issue 14): choices only, no column changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0012_late_interest_account_and_kind"),
    ]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("creator_payable", "Creator payable"),
                    ("party_payable", "Other party payable"),
                    ("agency_revenue", "Agency revenue"),
                    ("advances_receivable", "Advances receivable"),
                    ("deduction", "Deduction"),
                    ("income_clearing", "Income clearing"),
                    ("guarantee_top_up", "Guarantee top-up"),
                    ("late_interest", "Late payment interest"),
                    ("dispute_correction", "Dispute corrections"),
                    ("tax_withholding_payable", "Tax withholding payable"),
                    ("payouts_in_flight", "Payouts in flight"),
                    ("bank", "Bank / cash"),
                    ("rounding", "Rounding"),
                    ("fx", "Foreign exchange"),
                ],
                max_length=32,
            ),
        ),
    ]
