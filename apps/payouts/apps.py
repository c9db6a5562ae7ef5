from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayoutsConfig(AppConfig):
    # Payouts take money out of the ledger to the creator. Today the app holds the tax withholding
    # computation (withholding.py, pure) and its command; payout batches, their items and the
    # rails come next, beside it.
    name = "apps.payouts"
    label = "payouts"
    verbose_name = _("Payouts")
