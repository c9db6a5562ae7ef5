"""The split rules editor (issue 14, "Agency → Contract editor"): a draft's rule set as a form with
the JSON as an advanced view, exact round trips, the engine's errors next to their field, a live
preview that saves nothing, the overlap with a signed contract shown while drafting, and who may
edit what."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.http import QueryDict

from apps.contracts.builtin_templates import BUILTIN_TEMPLATES
from apps.contracts.models import ContractVersion
from apps.contracts.rules_form import (
    RuleSetEditorForm,
    apply_action,
    data_from_state,
    document_from_state,
    state_from_document,
)
from apps.contracts.services import contract_version_update
from apps.splits.engine import InvalidRules, parse_rule_set
from tests.conftest import web_as
from tests.contracts.conftest import active_contract, draft, send, sign_both

pytestmark = pytest.mark.django_db

VECTORS = sorted((Path(__file__).resolve().parents[1] / "data" / "split-vectors").glob("*.json"))
RULE_SETS = [(path.stem, json.loads(path.read_text(encoding="utf-8"))["rules"]) for path in VECTORS] + [
    (template["key"], template["default_rule_set"]) for template in BUILTIN_TEMPLATES
]


def _canonical(document: Any) -> str:
    # Not ==: True == 1 == 1.0 in Python; the document must come back exactly.
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def _is_valid(document: Any) -> bool:
    try:
        parse_rule_set(document)
    except InvalidRules:
        return False
    return True


class _FormScraper(HTMLParser):
    """What a browser would post from the form with this id: enabled inputs, ticked boxes in page
    order, each select's chosen option, textareas; no button (the test says which it presses)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.disabled: list[str] = []
        self.names: set[str] = set()  # every control's name, an unticked box's too
        self._select: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = attributes.get("name")
        if tag in ("input", "select", "textarea") and name:
            self.names.add(name)
        if tag in ("input", "select", "textarea") and name and "disabled" in attributes:
            self.disabled.append(name)
            return
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.fields.append((name, attributes.get("value", "on")))
            elif kind not in ("submit", "button", "reset"):
                self.fields.append((name, attributes.get("value", "")))
        elif tag == "select" and name:
            self._select = {"name": name, "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attributes:
                self._select["chosen"] = value
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            self.fields.append((self._select["name"], chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # The HTML parser keeps the newline a browser drops after <textarea>.
            self.fields.append((self._textarea["name"], self._textarea["text"].removeprefix("\n")))
            self._textarea = None


def _scrape(html: str, form_id: str = "rules-form") -> _FormScraper:
    scraper = _FormScraper(form_id)
    scraper.feed(html)
    return scraper


def _posted(html: str, **changes: str | list[str]) -> dict[str, list[str]]:
    """The form as the page shows it, with some fields changed (a list for checkboxes)."""
    scraped = _scrape(html)
    data: dict[str, list[str]] = {}
    for name, value in scraped.fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        assert name in scraped.names or name == "action", f"no field {name} on the page"
        data[name] = value if isinstance(value, list) else [value]
    return data


def _rules_url(version: ContractVersion) -> str:
    return f"/contracts/v/{version.public_id}/rules/"


def _saved(version: ContractVersion) -> dict[str, Any]:
    return ContractVersion.objects.get(pk=version.pk).rule_set


# --- exact round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "document"), RULE_SETS, ids=[name for name, _document in RULE_SETS])
def test_every_vector_and_template_rule_set_round_trips_through_the_form(name: str, document: Any) -> None:
    # given the rule set loaded into the form's fields, as a browser would post them back
    state = state_from_document(document)
    assert state is not None, f"{name}: the form cannot hold this rule set"
    data = QueryDict(mutable=True)
    for key, value in data_from_state(state).items():
        data.setlist(key, value if isinstance(value, list) else [value])
    # when the form reads them
    form = RuleSetEditorForm(data)
    # then the document is the very same, invalid vectors (11, 12) included: the form keeps
    # what it was given and leaves judging it to the engine
    assert form.is_valid(), form.errors
    assert _canonical(form.document()) == _canonical(document)


def test_loading_and_saving_each_rule_set_through_the_page_changes_nothing(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    valid = [(name, document) for name, document in RULE_SETS if _is_valid(document)]
    assert len(valid) >= 18  # 14 valid vectors and the built-in templates
    for name, document in valid:
        # given a draft holding this rule set (and its currency: vector 15 is in yen)
        contract_version_update(
            version=version, actor=world.manager_a, rule_set=document, currency=document["currency"]
        )
        page = client.get(_rules_url(version))
        assert page.status_code == 200
        assert 'id="rules-editor"' in page.content.decode()
        # when the page's form is saved untouched
        response = client.post(_rules_url(version), _posted(page.content.decode(), action="save"))
        # then the stored document is exactly the one loaded
        assert response.status_code == 302, (name, response.content.decode()[:2000])
        assert _canonical(_saved(version)) == _canonical(document), name


def test_switching_to_json_and_back_round_trips_too(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    document = _saved(version)
    page = client.get(_rules_url(version)).content.decode()

    as_json = client.post(_rules_url(version), _posted(page, action="to-json"))
    assert as_json.status_code == 200
    json_fields = dict(_scrape(as_json.content.decode()).fields)
    assert json_fields["mode"] == "json"
    assert _canonical(json.loads(json_fields["rule_set"])) == _canonical(document)

    back = client.post(_rules_url(version), {**json_fields, "action": "to-form"})
    assert back.status_code == 200
    saved = client.post(_rules_url(version), _posted(back.content.decode(), action="save"))
    assert saved.status_code == 302
    assert _canonical(_saved(version)) == _canonical(document)


def test_a_rule_set_the_form_cannot_hold_exactly_opens_as_json(world) -> None:
    version = draft(world)
    document = copy.deepcopy(_saved(version))
    document["rules"][-1]["deductions"] = []  # valid, but a blank list is no list to the form
    contract_version_update(version=version, actor=world.manager_a, rule_set=document)
    assert state_from_document(document) is None

    page = web_as(world.manager_a).get(_rules_url(version)).content.decode()

    assert 'id="json-only"' in page and 'name="rule_set"' in page
    fields = dict(_scrape(page).fields)
    assert fields["mode"] == "json"
    assert _canonical(json.loads(fields["rule_set"])) == _canonical(document)


# --- editing ---------------------------------------------------------------------------------------


def test_editing_a_tier_changes_exactly_that_value(world) -> None:
    version = draft(world)  # the built-in template: brand deals tiered above 100,000.00 at 80/20
    before = _saved(version)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()
    assert dict(_scrape(page).fields)["rules-0-tiers-0-above"] == "100000.00"

    response = client.post(
        _rules_url(version),
        _posted(
            page,
            action="save",
            **{
                "rules-0-tiers-0-above": "150000.00",
                "rules-0-tiers-0-split-0": "85",
                "rules-0-tiers-0-split-1": "15",
            },
        ),
    )

    assert response.status_code == 302
    expected = copy.deepcopy(before)
    expected["rules"][0]["tiers"][0] = {"above": "150000.00", "split": {"creator": "85", "agency": "15"}}
    assert _canonical(_saved(version)) == _canonical(expected)
    assert "Split rules saved." in client.get(response["Location"]).content.decode()


def test_a_match_ticked_on_the_form_is_saved_in_the_page_order(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()

    response = client.post(
        _rules_url(version),
        _posted(page, action="save", **{"rules-1-match-platforms": ["douyin", "bilibili"]}),
    )

    assert response.status_code == 302
    assert _saved(version)["rules"][1]["match"] == {"platforms": ["douyin", "bilibili"]}


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"rules-0-split-0": "71"}, "rules-0-split", "percents sum to 101, not exactly 100"),
        ({"rules-0-split-0": "abc"}, "id_rules-0-split-0_error", "is not a percent"),
        ({"rules-0-split-1": "-5"}, "id_rules-0-split-1_error", "is not a percent"),
        ({"rules-0-tiers-0-split-0": "x"}, "id_rules-0-tiers-0-split-0_error", "is not a percent"),
    ],
    ids=["sum-not-100", "abc", "negative", "tier-percent"],
)
def test_an_invalid_percent_is_shown_at_its_field_and_nothing_is_saved(
    world, changes: dict[str, str], where: str, message: str
) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()

    response = client.post(_rules_url(version), _posted(page, action="save", **changes))

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="rules-errors"' in body  # the summary at the top, linking to the problem
    # The message sits inside the fieldset of the split (a sum) or right under the input.
    start = body.index(f'id="{where}"')
    assert message in body[start : start + 1500]
    assert _canonical(_saved(version)) == before


def test_a_deduction_id_that_is_a_party_is_shown_at_that_id(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()

    response = client.post(
        _rules_url(version), _posted(page, action="save", **{"rules-0-deductions-0-id": "agency"})
    )

    assert response.status_code == 400
    body = response.content.decode()
    start = body.index('id="id_rules-0-deductions-0-id_error"')
    assert "is a party" in body[start : start + 400]
    assert 'href="#id_rules-0-deductions-0-id"' in body


def test_adding_and_removing_rows_saves_nothing_until_save(world) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()

    # a third party: every split gains a field for it
    added = client.post(_rules_url(version), _posted(page, action="add-party"), HTTP_HX_REQUEST="true")
    assert added.status_code == 200
    fields = dict(_scrape(added.content.decode()).fields)
    assert (
        fields["parties-count"] == "3" and "rules-0-split-2" in fields and "rules-0-tiers-0-split-2" in fields
    )
    assert re.search(
        r'<input[^>]*name="parties-2"[^>]*autofocus', added.content.decode()
    )  # focus moves there

    # name it, give it a share of rule 2, add a tier to rule 2, then save
    changes = {"parties-2": "editor", "rules-1-split-0": "50", "rules-1-split-2": "10"}
    named = _posted(added.content.decode(), action="add-tier-1", **changes)
    tiered = client.post(_rules_url(version), named)
    assert _canonical(_saved(version)) == before  # nothing saved yet
    tier_fields = {
        "rules-1-tiers-0-above": "5000.00",
        "rules-1-tiers-0-split-0": "60",
        "rules-1-tiers-0-split-1": "30",
        "rules-1-tiers-0-split-2": "10",
        "rules-0-split-2": "0",
        "rules-0-tiers-0-split-2": "0",
    }
    saved = client.post(_rules_url(version), _posted(tiered.content.decode(), action="save", **tier_fields))
    assert saved.status_code == 302, saved.content.decode()[:3000]
    document = _saved(version)
    assert document["parties"] == ["creator", "agency", "editor"]
    assert document["rules"][1]["split"] == {"creator": "50", "agency": "40", "editor": "10"}
    assert document["rules"][1]["tiers"] == [
        {"above": "5000.00", "split": {"creator": "60", "agency": "30", "editor": "10"}}
    ]

    # removing the party takes its percent out of every split
    page = client.get(_rules_url(version)).content.decode()
    removed = client.post(_rules_url(version), _posted(page, action="remove-party-2"))
    fields = dict(_scrape(removed.content.decode()).fields)
    assert fields["parties-count"] == "2" and "rules-1-split-2" not in fields
    assert _saved(version)["parties"] == ["creator", "agency", "editor"]


def test_moving_a_rule_changes_the_order_rules_are_tried_in() -> None:
    state = state_from_document(
        next(
            template["default_rule_set"]
            for template in BUILTIN_TEMPLATES
            if template["key"] == "exclusive-management-en"
        )
    )
    assert state is not None
    assert apply_action(state, "move-rule-down-0") == "rules-1-id"
    assert [rule["id"] for rule in document_from_state(state)["rules"]] == ["other", "brand"]
    assert apply_action(state, "move-rule-up-0") is None  # the first cannot go up
    assert apply_action(state, "remove-tier-0-5") is None  # out of range: nothing happens


def test_the_json_view_saves_through_the_same_checks(world) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    client = web_as(world.manager_a)
    document = copy.deepcopy(_saved(version))
    document["rules"][0]["split"]["agency"] = "40"

    refused = client.post(
        _rules_url(version), {"mode": "json", "action": "save", "rule_set": json.dumps(document)}
    )

    assert refused.status_code == 400
    body = refused.content.decode()
    assert "/rules/0/split" in body and "not exactly 100" in body
    assert _canonical(_saved(version)) == before

    document["rules"][0]["split"]["creator"] = "60"
    saved = client.post(
        _rules_url(version), {"mode": "json", "action": "save", "rule_set": json.dumps(document)}
    )
    assert saved.status_code == 302
    assert _saved(version)["rules"][0]["split"] == {"creator": "60", "agency": "40"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 1,', "Not valid JSON"),
        ("null", "A rule set is a JSON object"),
        ("[]", "A rule set is a JSON object"),
    ],
)
def test_malformed_json_is_a_form_error_not_a_500(world, text: str, message: str) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    for action in ("save", "to-form", "preview"):
        response = web_as(world.manager_a).post(
            _rules_url(version), {"mode": "json", "action": action, "rule_set": text}
        )
        assert response.status_code == 400, action
        assert message in response.content.decode(), action
    assert _canonical(_saved(version)) == before


def test_tampered_counts_are_a_form_error_not_a_500(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()
    for count in ("abc", "-1", "100000"):
        response = client.post(_rules_url(version), _posted(page, action="save", **{"rules-count": count}))
        assert response.status_code == 400, count


# --- the live preview ----------------------------------------------------------------------------


def test_the_preview_splits_a_line_under_the_unsaved_rules_and_saves_nothing(world) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()
    data = _posted(
        page,
        **{
            "rules-0-split-0": "80",
            "rules-0-split-1": "20",
            "sample-source": "brand_deal",
            "sample-platform": "douyin",
            "sample-gross": "10000.00",
        },
    )

    response = client.post(f"/contracts/v/{version.public_id}/rules/preview/", data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    # 5 % platform fee: net 9,500.00, split 80/20 as typed (not the saved 70/30)
    assert "¥7,600.00" in body and "¥1,900.00" in body
    assert "Rule “Brand deals” applies" in body and 'id="preview-explanation"' in body
    assert _canonical(_saved(version)) == before


def test_the_preview_of_rules_that_do_not_validate_says_why(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()
    data = _posted(page, **{"rules-0-split-0": "71", "sample-gross": "100.00"})

    response = client.post(f"/contracts/v/{version.public_id}/rules/preview/", data, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "/rules/0/split" in response.content.decode()


def test_the_preview_works_without_script_on_the_page_itself(world) -> None:
    version = draft(world)
    client = web_as(world.manager_a)
    page = client.get(_rules_url(version)).content.decode()
    data = _posted(page, action="preview", **{"sample-source": "live_gifts", "sample-gross": "abc"})

    response = client.post(_rules_url(version), data)

    assert response.status_code == 200
    assert 'id="rules-preview"' in response.content.decode()
    assert "not a decimal amount" in response.content.decode()  # a line error, explained


# --- overlap while drafting ----------------------------------------------------------------------------


def test_a_draft_that_overlaps_a_signed_contract_is_warned_on_every_drafting_page(world) -> None:
    # given creator A's signed contract on Douyin and Bilibili for 2026-2027
    signed = active_contract(world)
    # and a new draft for the same creator on Douyin from mid-2026
    overlapping = draft(world, platforms=["douyin"], start_date=signed.start_date.replace(month=6))
    client = web_as(world.manager_a)

    for url in (
        f"/contracts/v/{overlapping.public_id}/",
        f"/contracts/v/{overlapping.public_id}/edit/",
        _rules_url(overlapping),
    ):
        body = client.get(url).content.decode()
        assert 'id="overlap-warning"' in body, url
        assert signed.contract.title in body and "Douyin" in body, url

    # saving says so too, and sending still refuses with the same sentence
    page = client.get(_rules_url(overlapping)).content.decode()
    saved = client.post(_rules_url(overlapping), _posted(page, action="save"), follow=True)
    assert "Sending will be refused" in saved.content.decode()
    sent = client.post(f"/contracts/v/{overlapping.public_id}/send/", follow=True)
    assert "already has a signed contract" in sent.content.decode()
    assert ContractVersion.objects.get(pk=overlapping.pk).status == ContractVersion.Status.DRAFT


def test_the_terms_preview_warns_of_the_overlap_the_typed_terms_would_make(world) -> None:
    from tests.contracts.test_views import _terms_post

    signed = active_contract(world, platforms=["douyin"])
    elsewhere = draft(world, platforms=["bilibili"])
    client = web_as(world.manager_a)
    assert 'id="overlap-warning"' not in client.get(f"/contracts/v/{elsewhere.public_id}/").content.decode()

    preview = client.post(
        f"/contracts/v/{elsewhere.public_id}/preview/",
        _terms_post(elsewhere, platforms=["bilibili", "douyin"]),
        HTTP_HX_REQUEST="true",
    )

    assert 'id="overlap-warning"' in preview.content.decode()
    assert signed.contract.title in preview.content.decode()
    assert ContractVersion.objects.get(pk=elsewhere.pk).platforms == ["bilibili"]  # not saved


def test_a_draft_on_other_platforms_is_not_warned(world) -> None:
    active_contract(world, platforms=["douyin"])
    elsewhere = draft(world, platforms=["bilibili"])
    body = web_as(world.manager_a).get(_rules_url(elsewhere)).content.decode()
    assert 'id="overlap-warning"' not in body


# --- who may edit what ----------------------------------------------------------------------------------


def test_a_viewer_or_finance_member_cannot_edit_the_rules(world) -> None:
    version = draft(world)
    before = _canonical(_saved(version))
    page = web_as(world.manager_a).get(_rules_url(version)).content.decode()
    for person in (world.viewer_a, world.finance_a):
        client = web_as(person)
        assert client.get(_rules_url(version)).status_code == 403
        assert (
            client.post(
                _rules_url(version),
                _posted(page, action="save", **{"rules-0-split-0": "90", "rules-0-split-1": "10"}),
            ).status_code
            == 403
        )
        assert client.post(f"/contracts/v/{version.public_id}/rules/preview/", {}).status_code == 403
    assert _canonical(_saved(version)) == before


def test_another_agencys_draft_is_not_found(world) -> None:
    version = draft(world)
    client = web_as(world.owner_b)
    assert client.get(_rules_url(version)).status_code == 404
    assert client.post(_rules_url(version), {"action": "save"}).status_code == 404
    assert client.post(f"/contracts/v/{version.public_id}/rules/preview/", {}).status_code == 404


def test_a_sent_or_signed_version_is_read_only_in_the_editor(world) -> None:
    client = web_as(world.manager_a)
    # what a drafter's page posts, to replay against the sent version as if it were a draft
    draft_page = client.get(_rules_url(draft(world, creator=world.creator_a2))).content.decode()
    version = send(world, draft(world))
    for stage in ("sent", "signed"):
        if stage == "signed":
            version = sign_both(world, version)
        before = _canonical(_saved(version))
        page = client.get(_rules_url(version))
        assert page.status_code == 200, stage
        body = page.content.decode()
        assert 'id="read-only"' in body and 'id="save-rules"' not in body, stage
        scraped = _scrape(body)
        assert not [name for name, _value in scraped.fields if name.startswith("rules-")], stage
        assert "rules-0-split-0" in scraped.disabled, stage
        # a post as if it were still a draft is refused, and changes nothing
        changes = {"rules-0-split-0": "90", "rules-0-split-1": "10"}
        refused = client.post(_rules_url(version), _posted(draft_page, action="save", **changes))
        assert refused.status_code == 409, stage
        assert _canonical(_saved(version)) == before, stage
        # trying a line on its rules still works: 100.00 less the 5 % fee, 70 % of 95.00
        tried = client.post(
            f"/contracts/v/{version.public_id}/rules/preview/",
            {"sample-source": "brand_deal", "sample-platform": "douyin", "sample-gross": "100.00"},
        )
        assert tried.status_code == 200 and "¥66.50" in tried.content.decode(), stage


def test_the_editor_page_is_labelled_and_links_back(world) -> None:
    version = draft(world)
    body = web_as(world.manager_a).get(_rules_url(version)).content.decode()
    # every text input has a label pointing at it
    for name, _value in _scrape(body).fields:
        if name in ("csrfmiddlewaretoken", "mode") or name.endswith("-count"):
            continue
        if name.endswith(("-match-sources", "-match-platforms")):
            continue  # checkboxes sit inside their <label>
        assert f'for="id_{name}"' in body, name
    assert f'href="/contracts/v/{version.public_id}/"' in body
    version_page = web_as(world.manager_a).get(f"/contracts/v/{version.public_id}/").content.decode()
    assert f'href="{_rules_url(version)}"' in version_page


def test_the_creator_cannot_open_the_editor(world) -> None:
    creator = web_as(world.creator_a.user)
    unsent = draft(world)
    assert creator.get(_rules_url(unsent)).status_code == 404  # a draft is the agency's work
    sent = send(world, draft(world, creator=world.creator_a2))
    sent_to_a = send(world, unsent)
    assert creator.get(_rules_url(sent_to_a)).status_code == 403
    assert web_as(world.creator_a.user).get(_rules_url(sent)).status_code == 404  # another creator's


def test_the_editor_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries) -> None:
    small = draft(world)
    large = draft(world, creator=world.creator_a2)
    document = copy.deepcopy(_saved(large))
    document["rules"] = [
        {**copy.deepcopy(document["rules"][0]), "id": f"rule_{index}"} for index in range(12)
    ] + [document["rules"][-1]]
    contract_version_update(version=large, actor=world.manager_a, rule_set=document)
    client = web_as(world.manager_a)
    for version in (small, large):
        with django_assert_max_num_queries(7):
            assert client.get(_rules_url(version)).status_code == 200


def test_the_preview_reads_the_json_view_too(world) -> None:
    version = draft(world)
    document = copy.deepcopy(_saved(version))
    document["rules"][-1]["split"] = {"creator": "90", "agency": "10"}
    response = web_as(world.manager_a).post(
        f"/contracts/v/{version.public_id}/rules/preview/",
        {
            "mode": "json",
            "rule_set": json.dumps(document),
            "sample-source": "live_gifts",
            "sample-platform": "douyin",
            "sample-gross": "1000.00",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "¥900.00" in response.content.decode()  # the typed 90 %, not the saved 60 %
