"""The platforms and income sources Fenrun knows: the one list of each.

The canonical statement's `platform` and `source` columns (docs/statement-csv.md), the creators'
accounts, contracts' platforms covered, deals, the importers, the simulator's choices and the
split explanations all read these two lists; a platform added here is known everywhere at once.
They live in common, the floor, because every app above it names them (income's models among
them, so they cannot live in income without creators importing income).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    """The platforms of the canonical statement."""

    DOUYIN = "douyin", _("Douyin")
    KUAISHOU = "kuaishou", _("Kuaishou")
    BILIBILI = "bilibili", _("Bilibili")
    XIAOHONGSHU = "xiaohongshu", _("Xiaohongshu")
    WEIXIN_CHANNELS = "weixin_channels", _("WeChat Channels")
    WEIBO = "weibo", _("Weibo")
    TAOBAO = "taobao", _("Taobao Live")
    TIKTOK = "tiktok", _("TikTok")
    YOUTUBE = "youtube", _("YouTube")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    """The `source` column of the canonical statement."""

    BRAND_DEAL = "brand_deal", _("Brand deal")
    PLATFORM_REVENUE_SHARE = "platform_revenue_share", _("Platform revenue share")
    LIVE_GIFTS = "live_gifts", _("Live gifts")
    ECOMMERCE_COMMISSION = "ecommerce_commission", _("E-commerce commission")
    OTHER = "other", _("Other")


def platform_name(platform: str) -> str:
    """The platform's name for people; a code Fenrun does not know (a rule set may name any) as written."""
    return str(Platform(platform).label) if platform in Platform.values else platform


def source_name(source: str) -> str:
    """The source's name for people; a code Fenrun does not know as written."""
    return str(Source(source).label) if source in Source.values else source
