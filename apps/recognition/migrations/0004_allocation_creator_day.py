"""An index on allocations by (creator, ledger day): the creator's home reads their last twelve
months and their income list a month at a time from it, never the whole table (issue 14)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recognition", "0003_queue_waiting_lines")]

    operations = [
        migrations.AddIndex(
            model_name="lineallocation",
            index=models.Index(fields=["creator", "effective_date"], name="recognition_alloc_creator_day"),
        ),
    ]
