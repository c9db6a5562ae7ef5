"""Rails: how a payout batch leaves as a file for the bank, Alipay or WeChat Pay, and how its
result comes back. One small interface (apps/payouts/rails/base.py: `Rail`), one adapter per
format; a live API adapter (WeChat Pay's transfer API called directly, a bank's direct link) is
one more entry here."""

from __future__ import annotations

from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.payouts.rails.alipay import AlipayRail
from apps.payouts.rails.bank import BankCsvRail, BankXlsxRail
from apps.payouts.rails.base import ExportFile, ExportLine, Rail, ResultFileError, ResultRow
from apps.payouts.rails.wechat import WeChatRail

RAILS: dict[str, Rail] = {
    rail.name: rail for rail in (BankXlsxRail(), BankCsvRail(), AlipayRail(), WeChatRail())
}

__all__ = ["RAILS", "ExportFile", "ExportLine", "Rail", "ResultFileError", "ResultRow", "rail_get"]


def rail_get(name: str) -> Rail:
    """The rail of that name, or a 400 naming the ones there are."""
    rail = RAILS.get(name)
    if rail is None:
        raise ApplicationError(
            _("%(name)s is not a rail: use one of %(rails)s.")
            % {"name": repr(name[:40]), "rails": ", ".join(RAILS)},
            code="invalid_rail",
            extra={"field": "rail"},
        )
    return rail
