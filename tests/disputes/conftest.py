"""Dispute fixtures: creator A's recognised 1,000.00 live-gift line at agency A (60 % to the
creator: 600.00 payable), built through the real import and recognition, and helpers that
open and move disputes through the real services."""

from __future__ import annotations

import datetime
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.disputes.models import Dispute
from apps.disputes.services import dispute_open
from apps.income.models import IncomeLine
from apps.ledger.models import Account, AccountBalance
from tests.income.conftest import run_import, sign_contract, statement_world

__all__ = ["statement_world"]

HEADER = "external_id,occurred_at,platform,account_id,source,gross,currency,order_ref,refund_of,description\n"
PDF = b"%PDF-1.7\n%evidence\n"


def pdf(name: str = "screenshot.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def payable(creator: Any) -> int:
    """What the agency owes the creator (the payable's credit balance, as the creator reads it)."""
    balance = AccountBalance.objects.filter(
        account__creator=creator, account__purpose=Account.Purpose.CREATOR_PAYABLE, account__currency="CNY"
    ).first()
    return -balance.balance_minor if balance else 0


@pytest.fixture
def line_world(statement_world: Any) -> Any:
    world = statement_world
    sign_contract(world, world.creator_a, ["douyin"])
    data = HEADER + "G-1,2026-11-03T10:00:00+08:00,douyin,dy_88231,live_gifts,1000.00,CNY,,,November gifts\n"
    run_import(world, "gifts.csv", data.encode())
    world.line = IncomeLine.objects.get(external_id="G-1")
    assert world.line.state == "recognised"
    return world


def open_dispute(world: Any, *, message: str = "My share of this line should be 70 %, not 60 %.") -> Dispute:
    return dispute_open(actor=world.creator_a.user, income_line=world.line, message=message, files=[pdf()])


def at(moment: datetime.datetime) -> Any:
    """Django's clock set to `moment` (every timezone.now(), agency_today included)."""
    return mock.patch.object(timezone, "now", return_value=moment)
