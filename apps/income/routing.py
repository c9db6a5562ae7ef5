"""Which creator a statement row is for: a confirmed platform account, on a day the importing
agency represents that account's creator.

An import belongs to one agency, and a row lands on a creator in that agency's ledger only when

- the row's (platform, account_id) is a *confirmed* account of the creator (a pending account,
  one an agency asked for and the creator has not confirmed yet, routes nothing), and
- the agency's representation of that creator (apps.agencies Representation: started_on and
  ended_on, both inclusive) covers the row's day, read in the agency's time zone.

Any other row goes to the reconciliation queue as `unknown_account`, as the statement spec says
of "an account_id that no creator of the agency has registered": nothing is lost, and nothing
reveals whose the account is (the same detail for an id nobody has, another agency's creator's
id, or a day outside the span). When the creator confirms an account, `income_lines_route_account`
routes the lines already queued for it, in every agency whose representation covers their day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from apps.creators.models import PlatformAccount

# The import's LEFT JOIN of its staged rows `s` to the account they route to (NULL: the queue):
# a confirmed account whose creator one of the agency's representation spans covers on the row's
# day in the agency's time zone (read once for the statement, an InitPlan). The partial unique
# index on confirmed (platform, account_id) makes it one probe a row.
ACCOUNT_JOIN_SQL = """LEFT JOIN creators_platformaccount account
        ON account.platform = s.platform AND account.account_id = s.account_id
       AND account.status = 'confirmed'
       AND EXISTS (
           SELECT 1 FROM agencies_representation r
           WHERE r.agency_id = %(agency)s AND r.creator_id = account.creator_id
             AND daterange(r.started_on, r.ended_on, '[]') @> (
                 s.occurred_at AT TIME ZONE (SELECT a.time_zone FROM agencies_agency a WHERE a.id = %(agency)s)
             )::date
       )"""

# The queued line's detail: the same words whatever the reason, so it tells nobody whose it is.
UNROUTED_DETAIL_SQL = (
    "'No creator this agency represented on that day has a confirmed ' || s.platform"
    " || ' account ' || s.account_id"
)

# The same rule for lines already in the queue, in every agency that ever represented the creator
# (so the (agency, status) index narrows the lines).
_ROUTE_QUEUED_SQL = """
    UPDATE income_incomeline line
    SET creator_id = account.creator_id, platform_account_id = account.id,
        -- Brand deal payments go through reconciliation as freshly imported ones do.
        status = CASE WHEN line.source = 'brand_deal' THEN 'imported' ELSE 'matched' END,
        exception_reason = '', exception_detail = '', updated_at = now()
    FROM creators_platformaccount account, agencies_agency agency
    WHERE account.id = %(account)s AND account.status = 'confirmed'
      AND agency.id = line.agency_id
      AND line.agency_id IN (SELECT r.agency_id FROM agencies_representation r
                             WHERE r.creator_id = account.creator_id)
      AND line.status = 'exception' AND line.exception_reason = 'unknown_account'
      AND line.creator_id IS NULL
      AND line.platform = account.platform AND line.account_id = account.account_id
      AND EXISTS (
          SELECT 1 FROM agencies_representation r
          WHERE r.agency_id = line.agency_id AND r.creator_id = account.creator_id
            AND daterange(r.started_on, r.ended_on, '[]') @> (line.occurred_at AT TIME ZONE agency.time_zone)::date
      )
    RETURNING line.id, line.agency_id, line.status
"""


def income_lines_route_account(*, account: PlatformAccount) -> int:
    """Route the queued `unknown_account` lines of a just-confirmed account; returns how many.

    Lines a person already assigned or dismissed, and lines of days no representation of the
    account's creator by their agency covers, stay as they are. Runs in the caller's transaction
    (the confirmation), so the account and its lines change together.
    """
    from apps.income.pipeline import reconcile_lines

    with connection.cursor() as cursor:
        cursor.execute(_ROUTE_QUEUED_SQL, {"account": account.pk})
        routed = cursor.fetchall()
    brand_deals: dict[int, list[int]] = defaultdict(list)
    for line_id, agency_id, status in routed:
        if status == "imported":
            brand_deals[agency_id].append(line_id)
    for agency_id, line_ids in sorted(brand_deals.items()):
        reconcile_lines(agency_id=agency_id, line_ids=line_ids)
    return len(routed)
