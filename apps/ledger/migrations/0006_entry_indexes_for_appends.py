"""Five indexes fewer on journal entries, each of which cost every append a B-tree insert.

The unique index on the chain hash (and its LIKE twin) checked nothing a ledger needs (the chain
is walked by (agency, seq) and verify_ledger recomputes every hash); the idempotency key is unique
per agency ledger (one agency's keys never collide with another's), without Django's extra
varchar_pattern_ops index; the author and rule set
snapshot references keep their foreign keys without an index (users and snapshots are not
deleted, and nothing looks entries up by them).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agencies', '0002_initial'),
        ('creators', '0001_initial'),
        ('ledger', '0005_redundant_fk_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='journalentry',
            name='author',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='hash',
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='idempotency_key',
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='journalentry',
            name='rule_set',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='ledger.rulesetsnapshot'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.UniqueConstraint(fields=('agency', 'idempotency_key'), name='ledger_entry_idempotency_key_unique'),
        ),
    ]
