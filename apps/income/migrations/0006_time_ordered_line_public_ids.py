"""Income lines get time-ordered public ids (UUID version 7), from Python and from SQL.

`fenrun_uuid7()` is the SQL twin of apps.common.ids.uuid7 for the chunk step's INSERT … SELECT
(PostgreSQL 18 has uuidv7(); 15 does not): a random UUID with its first 48 bits replaced by the
Unix time in milliseconds and its version nibble set to 7. Lines are then written at the right
edge of the public_id index instead of on a random page, on insert and again on recognition's
UPDATE (which is not HOT, so it adds an index entry too).
"""

import apps.common.ids
from django.db import migrations, models

_FORWARD = """
CREATE OR REPLACE FUNCTION fenrun_uuid7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0005_partial_indexes_for_rare_references"),
    ]

    operations = [
        migrations.RunSQL(sql=_FORWARD, reverse_sql="DROP FUNCTION IF EXISTS fenrun_uuid7();"),
        migrations.AlterField(
            model_name="incomeline",
            name="public_id",
            field=models.UUIDField(default=apps.common.ids.uuid7, editable=False, unique=True),
        ),
    ]
