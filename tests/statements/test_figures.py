"""Every statement of a seeded month adds up to the ledger: each figure is the sum of its postings,
and closing − opening is the creator payable account's movement of the month."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db.models import Q, Sum

from apps.ledger.models import Account, AccountPeriodBalance, JournalEntry, Posting
from apps.statements.models import Statement
from apps.statements.selectors import statement_lines
from apps.statements.services import statements_draft

pytestmark = pytest.mark.django_db
Purpose = Account.Purpose
Kind = JournalEntry.Kind
FIRST, LAST = datetime.date(2026, 10, 1), datetime.date(2026, 10, 31)
INCOME = [Kind.INCOME_LINE, Kind.REFUND]


def _sum(creator: Any, *, before: bool = False, **filters: Any) -> int:
    """Postings of the month (or before it) about `creator`: their own accounts, or the agency's
    accounts in entries about them. Written with the ORM, independently of figures.py's SQL."""
    dates = Q(entry__effective_date__lt=FIRST) if before else Q(entry__effective_date__range=(FIRST, LAST))
    about = Q(account__creator=creator) | Q(account__creator__isnull=True, entry__creator=creator)
    total = Posting.objects.filter(dates, about, entry__agency__name="Agency A", **filters).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return int(total or 0)


def test_every_statement_of_the_month_equals_the_ledger(october: Any) -> None:
    world = october

    drafted = statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)

    statements = list(
        Statement.objects.filter(agency=world.agency_a, period=world.month).select_related("creator")
    )
    assert drafted == len(statements) == 2  # creator A and creator A2
    for statement in statements:
        creator = statement.creator
        payable = Account.objects.get(agency=world.agency_a, creator=creator, purpose=Purpose.CREATOR_PAYABLE)
        movement = AccountPeriodBalance.objects.get(account=payable, period=world.month).net_minor
        # The statement's totals are the ledger's balance movement (a credit is the creator's plus).
        assert statement.closing_minor - statement.opening_minor == -movement
        assert statement.opening_minor == -_sum(creator, before=True, account=payable)
        # Each figure is the sum of its postings.
        assert statement.gross_minor == _sum(
            creator, entry__kind__in=INCOME, account__purpose=Purpose.INCOME_CLEARING
        )
        assert statement.deductions_minor == -_sum(
            creator, entry__kind__in=INCOME, account__purpose=Purpose.DEDUCTION, account__key="platform_fee"
        )
        assert statement.expenses_minor == -_sum(
            creator, entry__kind__in=INCOME, account__purpose=Purpose.DEDUCTION, account__key="expenses"
        )
        assert statement.others_share_minor == -_sum(
            creator,
            entry__kind__in=INCOME,
            account__purpose__in=[Purpose.AGENCY_REVENUE, Purpose.PARTY_PAYABLE],
        )
        assert statement.recouped_minor == -_sum(
            creator, entry__kind__in=INCOME, account__purpose=Purpose.ADVANCES_RECEIVABLE
        )
        assert statement.income_share_minor == -_sum(creator, entry__kind__in=INCOME, account=payable)
        assert statement.guarantee_top_up_minor == -_sum(
            creator, entry__kind=Kind.GUARANTEE_TOP_UP, account=payable
        )
        assert statement.tax_minor == -_sum(
            creator, entry__kind=Kind.PAYOUT, account__purpose=Purpose.TAX_WITHHOLDING_PAYABLE
        )
        # The gross is split to the fen: deductions, expenses, the others' and the creator's
        # shares and the recoupment.
        assert statement.gross_minor == (
            statement.deductions_minor
            + statement.expenses_minor
            + statement.others_share_minor
            + statement.recouped_minor
            + statement.income_share_minor
        )
        # The lines' shares add up to the income share.
        lines = statement_lines(statement=statement)
        assert sum(line.creator_share_minor for line in lines) == statement.income_share_minor
        assert len(lines) == statement.line_count == (3 if creator == world.creator_a else 1)


def test_the_seeded_figures_are_the_hand_computed_ones(october: Any) -> None:
    world = october
    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)

    a = Statement.objects.get(creator=world.creator_a)
    a2 = Statement.objects.get(creator=world.creator_a2)

    assert a.opening_minor == 600_00  # September's gift: 60 % of 1,000.00
    assert a.gross_minor == 60_000_00 + 1_000_00 - 200_00
    assert a.deductions_minor == 3_000_00  # 5 % platform fee of the brand payment
    assert a.expenses_minor == 9_000_00  # approved, within 15 % of 60,000.00
    assert a.income_share_minor == 33_600_00 + 600_00 - 120_00
    assert a.closing_minor == 34_680_00
    assert a.line_count == 3  # P-1, G-10 and its refund R-10
    # A2: 60 % of 500.00 is 300.00, half of it recoups the advance; the guarantee tops up.
    assert a2.recouped_minor == 150_00
    assert a2.income_share_minor == 150_00
    assert a2.guarantee_top_up_minor > 0
    assert a2.closing_minor == a2.income_share_minor + a2.guarantee_top_up_minor
    # Due dates from the contract versions: 10 and 20 days after 31 October for A; defaults for A2's.
    assert (a.statement_due, a.payment_due) == (datetime.date(2026, 11, 10), datetime.date(2026, 11, 20))
    assert (a2.statement_due, a2.payment_due) == (datetime.date(2026, 11, 15), datetime.date(2026, 11, 30))


def test_drafting_twice_drafts_nothing_twice(october: Any) -> None:
    world = october
    assert statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a) == 2

    assert statements_draft(agency=world.agency_a, period=world.month, actor=world.owner_a) == 0
    assert Statement.objects.count() == 2


def _payout(
    world: Any, creator: Any, *, tax: int, net: int, day: datetime.date, key: str
) -> list[JournalEntry]:
    """The two entries a payout approval posts (apps/payouts/services.py): the tax to tax
    withholding payable, the net to payouts in flight, both from the creator's payable."""
    from apps.ledger.services import PostingSpec, ledger_account_get_or_create, ledger_post

    def account(purpose: str, who: Any = None) -> Account:
        return ledger_account_get_or_create(
            agency=world.agency_a, purpose=purpose, currency="CNY", creator=who
        )

    payable = account(Purpose.CREATOR_PAYABLE, creator)
    return [
        ledger_post(
            agency=world.agency_a,
            idempotency_key=f"{key}:{name}",
            kind=Kind.PAYOUT,
            effective_date=day,
            creator=creator,
            postings=[PostingSpec(payable, amount), PostingSpec(account(purpose), -amount)],
        )
        for name, purpose, amount in (
            ("tax", Purpose.TAX_WITHHOLDING_PAYABLE, tax),
            ("approved", Purpose.PAYOUTS_IN_FLIGHT, net),
        )
        if amount
    ]


def test_a_failed_payout_takes_its_tax_and_payout_back_and_stays_unpaid(october: Any) -> None:
    """A failed payout's reversals count as the payout and tax they reverse, negatively: the
    statement shows neither, and the money is unpaid again for lateness (found by a second
    reading: the reversals showed as an adjustment beside a tax nobody withheld)."""
    from apps.ledger.services import ledger_reverse
    from apps.statements.selectors import statement_lateness

    world = october
    late = datetime.date(2026, 10, 28)
    # Creator A is paid 4,200.00 after 800.00 of tax; creator A2's 90.00 (10.00 tax) fails.
    _payout(world, world.creator_a, tax=800_00, net=4_200_00, day=late, key="paid")
    for entry in _payout(world, world.creator_a2, tax=10_00, net=90_00, day=late, key="failed"):
        ledger_reverse(
            entry=entry, idempotency_key=f"back:{entry.pk}", reason="rail refused", effective_date=late
        )

    statements_draft(agency=world.agency_a, period=world.month, actor=world.finance_a)
    a = Statement.objects.get(creator=world.creator_a)
    a2 = Statement.objects.get(creator=world.creator_a2)

    assert (a.tax_minor, a.payouts_minor, a.adjustments_minor) == (800_00, 4_200_00, 0)
    assert a.closing_minor == 34_680_00 - 5_000_00
    assert (a2.tax_minor, a2.payouts_minor, a2.adjustments_minor) == (0, 0, 0)
    assert a2.closing_minor == a2.income_share_minor + a2.guarantee_top_up_minor
    # In the month after: a failed payout of A2's November balance leaves it all unpaid.
    payable = Account.objects.get(
        agency=world.agency_a, creator=world.creator_a2, purpose=Purpose.CREATOR_PAYABLE
    )
    november = datetime.date(2026, 11, 5)
    for entry in _payout(world, world.creator_a2, tax=0, net=a2.closing_minor, day=november, key="nov"):
        ledger_reverse(
            entry=entry, idempotency_key=f"back:{entry.pk}", reason="rail refused", effective_date=november
        )
    assert payable.balance.balance_minor == -a2.closing_minor  # the money is back
    lateness = statement_lateness(statement=a2, today=datetime.date(2026, 12, 3))
    assert (lateness.paid_after_close_minor, lateness.unpaid_minor) == (0, a2.closing_minor)
