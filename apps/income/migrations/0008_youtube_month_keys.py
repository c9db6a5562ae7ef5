"""YouTube lines recorded under a month's raw text get the key the importer builds now.

The YouTube adapter built a line's key from the Month cell as written ("YT-UCx9f3-Nov 2026"),
so one month exported once as "Nov 2026" and once as "2026-11" made two lines. The adapter now
builds the key from the parsed month (`YT-<channel>-<YYYY-MM>`); lines recorded before keep
counting as what they are only if their keys say the same, or the next import of an old
"Nov 2026" export would add every such month a second time.

So each YouTube line whose key ends in a month name and a year ("Nov 2026", "November 2026",
"nov. 2026") gets the key of that month, unless the agency already has a line with that key
(the month was imported in both spellings before this fix: it was counted twice, and both lines
are left as they are, for a person to see; renaming one onto the other is impossible, the key is
unique). Nothing else of a line changes; no ledger entry refers to a key. Adjustment lines
("…~reissue:…") keep theirs. The way back leaves the keys as they are: both spellings mean the
same month.
"""

import calendar
import re

from django.db import migrations

_NAMED = re.compile(r"^(YT-.+)-([A-Za-z]{3})[a-z]*\.?\s+([0-9]{4})$", re.ASCII)
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}


def _normal_key(external_id: str) -> str | None:
    match = _NAMED.match(external_id)
    if not match or match[2].lower() not in _MONTHS:
        return None
    return f"{match[1]}-{int(match[3]):04d}-{_MONTHS[match[2].lower()]:02d}"


def normalise_youtube_month_keys(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    IncomeLine = apps.get_model("income", "IncomeLine")
    candidates = (
        IncomeLine.objects.filter(
            platform="youtube", external_id__regex=r"^YT-.+-[A-Za-z]{3}[a-z]*\.? +[0-9]{4}$"
        )
        .order_by("id")
        .values_list("id", "agency_id", "external_id")
    )
    for line_id, agency_id, external_id in candidates.iterator(chunk_size=2000):
        key = _normal_key(external_id)
        if key is None or len(key) > 200:
            continue
        if IncomeLine.objects.filter(agency_id=agency_id, platform="youtube", external_id=key).exists():
            continue
        IncomeLine.objects.filter(pk=line_id).update(external_id=key)


class Migration(migrations.Migration):
    dependencies = [
        ("income", "0007_occurred_at_bounds"),
    ]

    operations = [
        migrations.RunPython(normalise_youtube_month_keys, migrations.RunPython.noop),
    ]
