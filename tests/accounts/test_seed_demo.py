"""The demo seed: idempotent, printed logins, and a world built through the real path.

Every figure of the demo must open into its explanation: the seed signs contracts, records deals
and imports a real canonical statement through the income pipeline, so every ledger entry is an
income line's split under the creator's signed contract, which the line's page explains and
`verify_ledger` re-computes.
"""

import ast
import csv
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.agencies.models import Agency, Membership
from apps.common.money import to_decimal_string
from apps.contracts.models import ContractVersion
from apps.creators.models import Creator, PlatformAccount
from apps.demo.seed import STATEMENT
from apps.income.models import IncomeLine, StatementImport
from apps.ledger.models import JournalEntry
from apps.recognition.models import RuleSetSnapshot
from apps.recognition.selectors import line_split as income_line_split
from apps.splits.engine import simulate

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_logins() -> None:
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    counts = (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Creator.objects.count(),
        PlatformAccount.objects.count(),
        StatementImport.objects.count(),
        IncomeLine.objects.count(),
        JournalEntry.objects.count(),
    )
    call_command("seed_demo", stdout=second)
    assert counts == (
        User.objects.count(),
        Agency.objects.count(),
        Membership.objects.count(),
        Creator.objects.count(),
        PlatformAccount.objects.count(),
        StatementImport.objects.count(),
        IncomeLine.objects.count(),
        JournalEntry.objects.count(),
    )
    assert counts[1:6] == (1, 4, 3, 3, 1)
    assert {a.platform for a in PlatformAccount.objects.all()} == {"douyin", "bilibili", "youtube"}
    text = first.getvalue()
    assert "owner@demo.fenrun.local" in text and "TOTP secret:" in text
    assert text.count("TOTP secret:") == 3  # owner, finance, staff
    assert second.getvalue() == text


def test_seed_if_empty_leaves_existing_data_alone() -> None:
    call_command("seed_demo", stdout=StringIO())
    Agency.objects.update(name="Renamed by a person")
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "skipped" in out.getvalue()
    assert Agency.objects.get().name == "Renamed by a person"


def test_every_demo_figure_opens_into_its_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    # given the demo world
    call_command("seed_demo", stdout=StringIO())
    agency = Agency.objects.get()

    # then its statement came through the pipeline, and every ledger entry covers lines' splits
    # (one entry per batch, creator, contract version, month and kind since issue 12)
    statement_import = StatementImport.objects.get(agency=agency)
    assert statement_import.status == StatementImport.Status.DONE
    rows = list(csv.DictReader(STATEMENT.open(encoding="utf-8")))
    assert statement_import.rows_total == len(rows) == IncomeLine.objects.filter(agency=agency).count()
    entries = JournalEntry.objects.filter(agency=agency)
    assert entries.exists()
    unexplained = entries.filter(lines_root="").values_list("seq", "kind", "cause_reference")
    assert list(unexplained) == []
    recognised = IncomeLine.objects.filter(agency=agency, allocation__isnull=False)
    assert recognised.count() == len(rows) - 1  # one row names an unknown account
    assert sum(entries.values_list("line_count", flat=True)) == recognised.count()
    assert set(entries.values_list("kind", flat=True)) == {"income_line", "refund"}

    # and each was split under the rules both sides signed, not rules of the seed's own
    for line in recognised.select_related("allocation"):
        version = ContractVersion.objects.get(pk=line.allocation.contract_version_id)
        assert version.status == ContractVersion.Status.ACTIVE
        assert version.signatures.count() == 2
        assert RuleSetSnapshot.objects.get(pk=line.allocation.rule_set_id).document == version.rule_set

    # and every line's page answers, to the agency and to the line's creator, with its split
    manager, viewer = Client(), Client()
    manager.force_login(User.objects.get(email="manager@demo.fenrun.local"))
    for line in IncomeLine.objects.filter(agency=agency).select_related("creator__user"):
        url = reverse("income:line", kwargs={"public_id": line.public_id})
        page = manager.get(url)
        assert page.status_code == 200, line.external_id
        if line.creator is not None:
            viewer.force_login(line.creator.user)
            assert viewer.get(url).status_code == 200, line.external_id
        if line.state == IncomeLine.Status.RECOGNISED:
            assert 'id="split-steps"' in page.content.decode()
            assert "proof-leaf" in page.content.decode()
            assert reverse("splits:docs", kwargs={"name": "split-rules"}) in page.content.decode()

    # and the figures re-compute: the ledger's own check, and the published algorithm run by hand
    call_command("verify_ledger")
    assert "OK: 1 ledger(s) verified" in capsys.readouterr().out
    for version in ContractVersion.objects.filter(
        contract__agency=agency, status=ContractVersion.Status.ACTIVE
    ):
        lines = list(recognised.filter(allocation__contract_version=version).order_by("occurred_at", "pk"))
        document = {
            "rules": version.rule_set,
            "lines": [
                {
                    "id": line.external_id,
                    "source": line.source,
                    "platform": line.platform,
                    "gross": to_decimal_string(line.gross_minor, line.currency),
                    "currency": line.currency,
                    "occurred_at": line.occurred_at.isoformat(),
                    **({"refund_of": line.refund_of.external_id} if line.refund_of_id else {}),
                }
                for line in lines
            ],
        }
        by_hand = simulate(document)["lines"]
        for line in lines:
            assert income_line_split(line=line)["result"] == by_hand[line.external_id], line.external_id


# The apps that money flows through; apps.common (the floor) imports none of them. (Its tenancy
# module reads the users, agencies and creators it scopes by: import-linter's contracts say which.)
ABOVE_COMMON = ("apps.splits", "apps.ledger", "apps.contracts", "apps.deals", "apps.income", "apps.demo")
# The one ISO 4217 table: data only, in the split engine because the engine must stand alone.
READ_BY_COMMON = frozenset({"apps.splits.engine.iso4217"})


def test_common_imports_no_app_above_it() -> None:
    # The demo seed lived in apps.common and imported the ledger and the contracts; it now
    # lives in apps.demo, above every app.
    offenders = []
    for path in sorted((Path(settings.BASE_DIR) / "apps" / "common").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if name.startswith(ABOVE_COMMON) and name not in READ_BY_COMMON
            ]
    assert offenders == []
