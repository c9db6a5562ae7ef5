"""Input bounds shared by forms and API serializers."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Business dates (contract terms, due dates) live within these bounds; outside them date
# arithmetic (a term's end + 1 day, a window of ± days) would overflow Python's date type.
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2199, 12, 31)


def validate_business_date(value: datetime.date | None) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(
            _("Choose a date between %(earliest)s and %(latest)s."),
            code="date_out_of_range",
            params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
        )


# The instants a business date can stand for: its first moment in the easternmost offset
# (+24:00 is the most any zone or ISO 8601 offset reaches) to its last in the westernmost. A
# stored moment outside them is not a business date in any zone; the income line table's check
# constraint (income migration 0007) is these bounds.
EARLIEST_MOMENT = datetime.datetime.combine(
    EARLIEST_DATE - datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
)
LATEST_MOMENT_EXCLUSIVE = datetime.datetime.combine(
    LATEST_DATE + datetime.timedelta(days=2), datetime.time(), tzinfo=datetime.UTC
)


def is_business_date(value: datetime.date) -> bool:
    """Whether a date (of a datetime: its date where it was written) is within the bounds."""
    return EARLIEST_DATE <= value <= LATEST_DATE
