from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist lets one EXCLUDE constraint mix equality (creator, agency, platform) with range overlap."""

    dependencies = []

    operations = [BtreeGistExtension()]
