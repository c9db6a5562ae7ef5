"""TRUNCATE of recognition's append-only tables is refused, as the ledger's are (ledger 0010).

Allocations, what entries cover, checkpoints and snapshots are what the ledger's Merkle roots
commit to: emptying them would leave every entry's root unverifiable. The same function as the
ledger's (a disposable test database may allow it per connection).
"""

from django.db import migrations

_TABLES = (
    "recognition_lineallocation",
    "recognition_entrycover",
    "recognition_statecheckpoint",
    "recognition_rulesetsnapshot",
    "recognition_recognitionbatch",
)

_FORWARD = "".join(
    f"""
CREATE TRIGGER ledger_refuse_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();
"""
    for table in _TABLES
)
_BACKWARD = "".join(f"DROP TRIGGER IF EXISTS ledger_refuse_truncate ON {table};\n" for table in _TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("recognition", "0001_initial"),
        ("ledger", "0011_entries_cover_lines"),
    ]

    operations = [migrations.RunSQL(sql=_FORWARD, reverse_sql=_BACKWARD)]
