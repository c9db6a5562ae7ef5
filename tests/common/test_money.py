import pytest

from apps.common.money import MoneyError, format_money, to_decimal_string, to_minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.56", "CNY", 123456),
        ("-0.01", "CNY", -1),
        ("1000", "JPY", 1000),
        ("1.5", "CNY", 150),
        ("0.001", "KWD", 1),
        ("+7", "USD", 700),
    ],
)
def test_to_minor_reads_decimal_strings_exactly(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor
    assert to_minor(to_decimal_string(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("10.001", "CNY", "more decimals"),
        ("1.5", "JPY", "more decimals"),
        ("1e3", "CNY", "not a decimal"),
        ("", "CNY", "not a decimal"),
        ("1" + "0" * 16, "CNY", "larger"),
    ],
)
def test_to_minor_refuses_rather_than_rounds(text: str, currency: str, reason: str) -> None:
    with pytest.raises(MoneyError, match=reason):
        to_minor(text, currency)


def test_thousands_separators_only_where_allowed() -> None:
    assert to_minor("1,204.50", "CNY", allow_thousands=True) == 120450
    with pytest.raises(MoneyError):
        to_minor("1,204.50", "CNY")


def test_float_is_refused() -> None:
    with pytest.raises(MoneyError):
        to_minor(12.5, "CNY")  # type: ignore[arg-type]


def test_format_for_people() -> None:
    assert format_money(123456, "CNY") == "¥1,234.56"
    assert format_money(31277, "USD") == "US$312.77"
    assert format_money(-2000, "CNY") == "-¥20.00"
    assert format_money(1000, "JPY") == "JP¥1,000"


@pytest.mark.parametrize(
    "text",
    [
        "１２３",  # full-width
        "１２３.４５",
        "٣",  # Arabic-Indic
        "۱۲۳",  # Extended Arabic-Indic (Persian)
        "१२३",  # Devanagari
        "1,٢٣٤.00",  # one script inside a grouped number
        "12³",  # a superscript is a digit to Python too
    ],
)
def test_digits_other_than_0_9_are_refused_with_a_clear_message(text: str) -> None:
    # Python's int() and Decimal() read all of these as numbers; money never does.
    with pytest.raises(MoneyError, match="0-9"):
        to_minor(text, "CNY", allow_thousands=True)


@pytest.mark.django_db
def test_the_deals_api_refuses_an_amount_in_other_digits(world) -> None:
    from apps.deals.models import BrandDeal
    from tests.conftest import api_as
    from tests.deals.test_api import create_payload

    for fee in ("１０,０００.００", "١٠٠٠٠.٠٠"):
        response = api_as(world.manager_a).post(
            "/api/v1/deals/", create_payload(world, fee=fee), format="json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_amount"
        assert "0-9" in response.json()["detail"]
    assert not BrandDeal.objects.exists()
