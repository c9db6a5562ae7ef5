# The agency's income list by (agency, occurred_at, id) (issue 14). A plain AddIndex, as every
# other index of the project: CREATE INDEX locks the table against writes while it builds (8 s
# for 1,000,000 lines on the bench machine); a deployment with a large table runs it in a quiet
# moment.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0015_import_lines_recognised"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incomeline",
            index=models.Index(fields=["agency", "occurred_at", "id"], name="income_line_agency_time"),
        ),
    ]
