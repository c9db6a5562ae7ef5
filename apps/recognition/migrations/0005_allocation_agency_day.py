"""An index on allocations by (agency, ledger day): an agency's revenue reports (apps/reports) and
the statements' quarter report read a range of months from it, never every allocation the agency
ever had (issue 14). One more B-tree entry per allocation."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognition", "0004_allocation_creator_day")]

    operations = [
        migrations.AddIndex(
            model_name="lineallocation",
            index=models.Index(fields=["agency", "effective_date"], name="recognition_alloc_agency_day"),
        ),
    ]
