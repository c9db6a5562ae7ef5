"""A creator's payout details (bank account, Alipay or WeChat Pay, real name): theirs to change,
the agency's to read masked, the rail's to read whole.

* `payout_details_set` (the creator only; the page asks for re-authentication first): writes the
  details, stamps `changed_at` (pghistory keeps every earlier version), and mails the creator
  after commit. A change holds the creator's payouts for `HOLD`: preparation leaves them out
  (apps.payouts.services.payout_batch_prepare) and an export leaves out an item whose details
  changed after its batch was prepared or within the hold (apps/payouts/exports.py). A stolen
  session that redirects the money is then seen by the creator, in the mail, before it moves.
* `payout_details_get_for_actor` / `payout_details_of_creators`: the creator's own, or the
  details of the creators an agency pays, which pages and the API show only through `masked`.

Masking keeps what a person needs to recognise an account and no more: the first four and last
four digits of a card (6222 **** **** 1234), the first three and last four of a mobile number,
the first letter of an email's name, the first and last four characters of a WeChat openid
(o-MY****6Xoy), and the first character of the real name (张*). The AppID is not masked: it
names the agency's own app, not the creator.

WeChat Pay (商家转账) pays an openid: the creator's identifier under one AppID (a 公众号, 小程序
or app of the agency), given by that app; the creator gives both. WeChat Pay needs the real name
only for a transfer of 2,000.00 or more, so for WeChat the name is optional here and the rail
refuses such a transfer without one (apps/payouts/rails/wechat.py).
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.tenancy import scope_for
from apps.creators.models import Creator
from apps.payouts.models import PayoutDetails

logger = logging.getLogger(__name__)

# How long a change of details holds the creator's payouts.
HOLD = datetime.timedelta(hours=24)
Method = PayoutDetails.Method

_DIGITS = re.compile(r"^[0-9]{8,34}$", re.ASCII)
_MOBILE = re.compile(r"^1[0-9]{10}$", re.ASCII)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
# An openid is 28 characters of letters, digits, "-" and "_" in WeChat's examples
# ("o-MYE42l80oelYMDE34nYD456Xoy"); the bounds leave room without letting anything else in.
_OPENID = re.compile(r"^[A-Za-z0-9_-]{10,64}$", re.ASCII)
_APPID = re.compile(r"^wx[0-9a-f]{16}$", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# --- masking ------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***, Anna Li → A******."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_account(account: str, *, method: str) -> str:
    """6222021234567891234 → 6222 **** **** 1234; 13812345678 → 138****5678; anna@x.cn → a***@x.cn;
    o-MYE42l80oelYMDE34nYD456Xoy → o-MY****6Xoy."""
    if method == Method.WECHAT:
        return f"{account[:4]}****{account[-4:]}" if len(account) >= 12 else "****"
    if method == Method.ALIPAY:
        if "@" in account:
            local, _at, domain = account.partition("@")
            return f"{local[:1]}***@{domain}"
        if len(account) >= 8:
            return f"{account[:3]}****{account[-4:]}"
        return "****"
    if len(account) <= 8:
        return "**** " + account[-4:]
    return f"{account[:4]} **** **** {account[-4:]}"


@dataclass(frozen=True, slots=True)
class MaskedDetails:
    """What an agency (and its pages and API) reads of a creator's details."""

    method: str
    method_label: str
    real_name: str
    bank_name: str
    bank_branch: str
    account: str
    wechat_appid: str
    changed_at: datetime.datetime
    held_until: datetime.datetime | None  # set while a change holds the creator's payouts


def held_until(details: PayoutDetails, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """The end of the hold a change of these details started, or None once it is over."""
    end = details.changed_at + HOLD
    return end if end > (now or timezone.now()) else None


def masked(details: PayoutDetails) -> MaskedDetails:
    return MaskedDetails(
        method=details.method,
        method_label=str(details.get_method_display()),
        real_name=mask_name(details.real_name),
        bank_name=details.bank_name,
        bank_branch=details.bank_branch,
        account=mask_account(details.account, method=details.method),
        wechat_appid=details.wechat_appid,
        changed_at=details.changed_at,
        held_until=held_until(details),
    )


# --- reads --------------------------------------------------------------------------------------


def payout_details_get_own(*, actor: Any) -> tuple[Creator, PayoutDetails | None]:
    """The signed-in creator and their details (None before they give any); 404 for others."""
    creator_id = scope_for(actor).creator_id
    if creator_id is None:
        raise NotFound()
    creator = Creator.objects.select_related("user").get(pk=creator_id)
    return creator, PayoutDetails.objects.filter(creator_id=creator_id).first()


def payout_details_of_creators(*, creator_ids: list[int]) -> dict[int, PayoutDetails]:
    """The details of these creators, one query. Callers show them to an agency only `masked`,
    and pass them whole only to a rail's export."""
    return {
        details.creator_id: details for details in PayoutDetails.objects.filter(creator_id__in=creator_ids)
    }


# --- writes -------------------------------------------------------------------------------------


def _clean(value: Any, *, limit: int, field: str, label: str, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ApplicationError(
            _("Give the %(label)s.") % {"label": label}, code="invalid_details", extra={"field": field}
        )
    if len(text) > limit or _CONTROL.search(text):
        raise ApplicationError(
            _("The %(label)s is at most %(limit)s characters, without control characters.")
            % {"label": label, "limit": limit},
            code="invalid_details",
            extra={"field": field},
        )
    return text


def _clean_account(method: str, account: Any) -> str:
    text = str(account or "").strip()
    if method == Method.BANK:
        # People copy card numbers in groups of four ("6222 0212 3456 7891 234").
        digits = re.sub(r"[\s-]", "", text)
        if not _DIGITS.match(digits):
            raise ApplicationError(
                _("A bank account number is 8 to 34 digits (0-9)."),
                code="invalid_details",
                extra={"field": "account"},
            )
        return digits
    if method == Method.WECHAT:
        if _OPENID.match(text):
            return text
        raise ApplicationError(
            _(
                "A WeChat openid is 10 to 64 letters, digits, - or _ (e.g. o-MYE42l80oelYMDE34nYD456Xoy): "
                "the agency's app shows it to you."
            ),
            code="invalid_details",
            extra={"field": "account"},
        )
    if _MOBILE.match(text) or (len(text) <= 100 and _EMAIL.match(text)):
        return text
    raise ApplicationError(
        _("An Alipay account is a mainland mobile number (11 digits) or an email address."),
        code="invalid_details",
        extra={"field": "account"},
    )


def payout_details_set(
    *,
    creator: Creator,
    actor: Any,
    method: str,
    real_name: str,
    account: str,
    bank_name: str = "",
    bank_branch: str = "",
    wechat_appid: str = "",
) -> PayoutDetails:
    """The creator gives or changes where they are paid (never an agency: 403). Holds their
    payouts for 24 hours and mails them; the earlier version stays in the history."""
    if scope_for(actor).creator_id != creator.pk:
        raise PermissionDenied(
            _("Only the creator can change their payout details: they do it from their own page."),
            code="payout_details_are_the_creators",
        )
    if method not in Method.values:
        raise ApplicationError(
            _("Choose how you are paid: bank account, Alipay or WeChat Pay."),
            code="invalid_details",
            extra={"field": "method"},
        )
    values = {
        "method": method,
        # Stored as typed, even a name that starts with "=": the export escapes it (a rail
        # must see the name the bank account carries, and the creator's name is theirs).
        # WeChat Pay asks for the name only from 2,000.00 a transfer (the rail refuses those without).
        "real_name": _clean(
            real_name, limit=100, field="real_name", label=_("real name"), required=method != Method.WECHAT
        ),
        "account": _clean_account(method, account),
        "bank_name": "",
        "bank_branch": "",
        "wechat_appid": "",
    }
    if method == Method.BANK:
        values["bank_name"] = _clean(bank_name, limit=100, field="bank_name", label=_("bank"))
        values["bank_branch"] = _clean(
            bank_branch, limit=200, field="bank_branch", label=_("branch"), required=False
        )
    if method == Method.WECHAT:
        appid = str(wechat_appid or "").strip()
        if not _APPID.match(appid):
            raise ApplicationError(
                _(
                    "A WeChat AppID is wx followed by 16 digits or letters a-f (e.g. wxd930ea5d5a258f4f): "
                    "the AppID of the agency's app that gave you your openid."
                ),
                code="invalid_details",
                extra={"field": "wechat_appid"},
            )
        values["wechat_appid"] = appid
    with transaction.atomic():
        current = PayoutDetails.objects.select_for_update(no_key=True).filter(creator=creator).first()
        if current is not None and all(getattr(current, name) == value for name, value in values.items()):
            return current  # saved again unchanged: no new hold, no mail
        now = timezone.now()
        details, _created = PayoutDetails.objects.update_or_create(
            creator=creator, defaults={**values, "changed_at": now, "changed_by": actor}
        )
        transaction.on_commit(partial(_notify_change, details_id=details.pk), robust=True)
    return details


def _notify_change(*, details_id: int) -> None:
    """Mail the creator that their payout details changed (after commit; a refused mail is
    logged, and the change stands: the page said so too)."""
    details = PayoutDetails.objects.select_related("creator__user").get(pk=details_id)
    user = details.creator.user
    if not user.email:
        return
    with translation.override(getattr(user, "preferred_language", None) or settings.LANGUAGE_CODE):
        view = masked(details)
        subject = _("Your payout details were changed")
        body = _(
            "Your payout details on Fenrun were changed at %(changed_at)s (UTC).\n\n"
            "Paid by: %(method)s\nAccount: %(account)s\nName: %(name)s\n\n"
            "Payouts to you are held for 24 hours after a change. If you did not make this change, "
            "sign in, change your password and your payout details, and tell your agency."
        ) % {
            "changed_at": details.changed_at.strftime("%Y-%m-%d %H:%M"),
            "method": view.method_label,
            "account": view.account,
            "name": view.real_name or "-",
        }
    try:
        send_mail(subject, body, None, [user.email])
    except OSError:
        logger.exception("payout details change mail refused", extra={"details_id": details_id})
