"""{{ amount_minor|money:currency }} — the one place money is formatted for people."""

from django import template

from apps.common.money import format_money

register = template.Library()


@register.filter(name="money")
def money(minor: int | None, currency: str = "CNY") -> str:
    if minor is None:
        return "—"
    return format_money(int(minor), currency)
