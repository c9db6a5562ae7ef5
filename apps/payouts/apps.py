from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    # Payouts take money out of the ledger to the creator: the tax withholding computation
    # (withholding.py, pure) and its command, tax profiles, and payout batches with their items
    # (models, services, selectors; docs/payouts.md). The rails' export files come next.
    name = "apps.payouts"
    label = "payouts"
    verbose_name = _("Payouts")
