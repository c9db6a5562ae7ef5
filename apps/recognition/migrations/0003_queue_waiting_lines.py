"""Queue the lines that already wait for recognition (matched, no allocation) when income's
recognition queue appears (income migration 0014): from now on the periodic sweep reads only the
queue, so a line matched before it existed would otherwise wait forever."""

from django.db import migrations

_FORWARD = """
INSERT INTO income_recognitionqueue (line_id, agency_id, queued_at)
SELECT l.id, l.agency_id, now() FROM income_incomeline l
WHERE l.status = 'matched'
  AND NOT EXISTS (SELECT 1 FROM recognition_lineallocation a WHERE a.line_id = l.id)
ON CONFLICT DO NOTHING
"""


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0014_recognition_queue"),
        ("recognition", "0002_refuse_truncate"),
    ]

    operations = [migrations.RunSQL(_FORWARD, migrations.RunSQL.noop)]
