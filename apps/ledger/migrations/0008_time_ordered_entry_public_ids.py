"""Journal entry public ids are version 7 UUIDs from now on (a new default, no SQL): a bulk
append writes its ids at the unique index's right edge instead of on random pages."""

import apps.common.ids
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0007_posting_references_checked_per_statement'),
    ]

    operations = [
        migrations.AlterField(
            model_name='journalentry',
            name='public_id',
            field=models.UUIDField(default=apps.common.ids.uuid7, editable=False, unique=True),
        ),
    ]
