"""A month's statement figures for every creator of an agency, from the ledger in two queries.

The ledger knows no statement; every figure here is a sum of its postings, grouped once for the
whole month (no per-creator or per-row loop):

    SELECT creator, currency, account purpose, is-expenses, entry kind, SUM(amount)
      FROM postings ⋈ entries ⋈ accounts
     WHERE entry.agency = A AND entry.effective_date within the month
     GROUP BY those five

`creator` is the creator account's own creator (creator payable, advances receivable) or, for the
agency's accounts (income clearing, deductions, revenue, tax withholding payable), the creator the
entry is about. Signs are turned to the creator's side (what the agency owes them is positive):

* gross: income clearing debits of income and refund entries;
* deductions: deduction accounts other than `expenses` (platform fee, tax reserve…), credits;
* expenses: the `expenses` deduction account (approved brand deal expenses), credits;
* others_share: agency revenue and other parties' payables (what did not go to the creator);
* recouped: advances receivable credits of income entries (the advance repaid from the split);
* income_share: creator payable credits of income and refund entries;
* guarantee_top_up: creator payable credits of guarantee top-up entries (period close);
* late_interest: creator payable credits of late interest entries (interest on an earlier
  month's late payment that the agency posted in this month, apps/statements/services.py);
* tax: tax withholding payable credits of payout entries;
* payouts: creator payable debits of payout entries less the tax (what left for the creator's
  account; a failed payout coming back counts negative);
* adjustments: creator payable movements of every other kind (manual adjustments).

A reversal counts as the kind of the entry it reverses (its amounts have the opposite signs): a
failed payout's reversed tax and approval entries lower the month's tax and payouts.

opening is the creator payable balance before the month (the sum of the account's monthly nets,
AccountPeriodBalance, before it: one grouped query), closing = opening + income_share +
guarantee_top_up + late_interest − tax − payouts + adjustments, which is exactly the opening plus the creator
payable account's movement in the month. The ledger's tables are read here, read-only: the
ledger's selectors offer no grouping by entry kind.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Sum

from apps.ledger.models import Account, AccountPeriodBalance, JournalEntry

Purpose = Account.Purpose
Kind = JournalEntry.Kind
INCOME_KINDS = frozenset({Kind.INCOME_LINE, Kind.REFUND})
EXPENSES_DEDUCTION = "expenses"  # the deduction id of approved deal expenses (apps/deals)


@dataclass
class Figures:
    creator_id: int
    currency: str
    opening_minor: int = 0
    gross_minor: int = 0
    deductions_minor: int = 0
    expenses_minor: int = 0
    others_share_minor: int = 0
    recouped_minor: int = 0
    income_share_minor: int = 0
    guarantee_top_up_minor: int = 0
    late_interest_minor: int = 0
    tax_minor: int = 0
    payouts_minor: int = 0
    adjustments_minor: int = 0
    has_postings: bool = field(default=False)

    @property
    def movement_minor(self) -> int:
        return (
            self.income_share_minor
            + self.guarantee_top_up_minor
            + self.late_interest_minor
            - self.tax_minor
            - self.payouts_minor
            + self.adjustments_minor
        )

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.movement_minor

    def as_columns(self) -> dict[str, int]:
        return {
            "opening_minor": self.opening_minor,
            "gross_minor": self.gross_minor,
            "deductions_minor": self.deductions_minor,
            "expenses_minor": self.expenses_minor,
            "others_share_minor": self.others_share_minor,
            "recouped_minor": self.recouped_minor,
            "income_share_minor": self.income_share_minor,
            "guarantee_top_up_minor": self.guarantee_top_up_minor,
            "late_interest_minor": self.late_interest_minor,
            "tax_minor": self.tax_minor,
            "payouts_minor": self.payouts_minor,
            "adjustments_minor": self.adjustments_minor,
            "closing_minor": self.closing_minor,
        }


_GROUPED = """
    SELECT COALESCE(a.creator_id, e.creator_id), p.currency, a.purpose,
           (a.purpose = 'deduction' AND a.key = %s), COALESCE(reversed.kind, e.kind), SUM(p.amount_minor)
      FROM ledger_journalentry e
      JOIN ledger_posting p ON p.entry_id = e.id
      JOIN ledger_account a ON a.id = p.account_id
      -- A reversal counts as the kind it reverses, negatively: a failed payout's reversed tax
      -- and approval take the tax and the payout back, not an "adjustment" beside them.
      LEFT JOIN ledger_journalentry reversed ON reversed.id = e.reverses_id AND e.kind = 'reversal'
     WHERE e.agency_id = %s AND e.effective_date >= %s AND e.effective_date <= %s
       AND COALESCE(a.creator_id, e.creator_id) IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5
"""


def _add(figures: Figures, purpose: str, is_expenses: bool, kind: str, total: int) -> None:
    """One grouped sum into its figure (see the module docstring for the signs)."""
    figures.has_postings = True
    if kind in INCOME_KINDS:
        if purpose == Purpose.INCOME_CLEARING:
            figures.gross_minor += total
        elif purpose == Purpose.DEDUCTION:
            if is_expenses:
                figures.expenses_minor -= total
            else:
                figures.deductions_minor -= total
        elif purpose in (Purpose.AGENCY_REVENUE, Purpose.PARTY_PAYABLE):
            figures.others_share_minor -= total
        elif purpose == Purpose.ADVANCES_RECEIVABLE:
            figures.recouped_minor -= total
        elif purpose == Purpose.CREATOR_PAYABLE:
            figures.income_share_minor -= total
        return
    if purpose == Purpose.CREATOR_PAYABLE:
        if kind == Kind.GUARANTEE_TOP_UP:
            figures.guarantee_top_up_minor -= total
        elif kind == Kind.LATE_INTEREST:
            figures.late_interest_minor -= total
        elif kind == Kind.PAYOUT:
            figures.payouts_minor += total  # a debit of the payable; the tax is taken out below
        else:
            figures.adjustments_minor -= total
    elif purpose == Purpose.TAX_WITHHOLDING_PAYABLE and kind == Kind.PAYOUT:
        figures.tax_minor -= total


def month_figures(
    *, agency_id: int, first: datetime.date, last: datetime.date, period: str
) -> dict[tuple[int, str], Figures]:
    """Every creator's figures of the month, by (creator id, currency): two grouped queries.

    Invariant: closing − opening of each equals the creator payable account's net movement of
    the month (negated: the ledger's credit is the creator's plus)."""
    found: dict[tuple[int, str], Figures] = {}

    def of(creator_id: int, currency: str) -> Figures:
        key = (creator_id, currency)
        if key not in found:
            found[key] = Figures(creator_id=creator_id, currency=currency)
        return found[key]

    with connection.cursor() as cursor:
        cursor.execute(_GROUPED, [EXPENSES_DEDUCTION, agency_id, first, last])
        for creator_id, currency, purpose, is_expenses, kind, total in cursor.fetchall():
            _add(of(creator_id, currency), purpose, bool(is_expenses), kind, int(total))
    for figures in found.values():
        # The payable's debit in payout entries is tax + what was paid: keep the paid part.
        figures.payouts_minor -= figures.tax_minor
    # "2026-09" < "2026-10": months as text sort as months.
    openings = (
        AccountPeriodBalance.objects.filter(
            account__agency_id=agency_id,
            account__purpose=Purpose.CREATOR_PAYABLE,
            account__key="",
            period__lt=period,
        )
        .order_by()
        .values("account__creator_id", "currency")
        .annotate(net=Sum("net_minor"))
        .values_list("account__creator_id", "currency", "net")
    )
    for creator_id, currency, net in openings:
        if net:
            of(creator_id, currency).opening_minor = -int(net)
    return {key: figures for key, figures in found.items() if figures.has_postings or figures.opening_minor}
