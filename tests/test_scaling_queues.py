"""Queues by agency (config/routing.py, docs/scaling.md): the router the Celery app really uses
sends a money-path task with an agency id to its bucket's queue, or to the agency's dedicated one,
and everything else to `default`. The real workers are tested in tests/integration."""

from __future__ import annotations

import pytest
from django.test import override_settings

from config.celery_app import app
from config.env import ConfigurationError
from config.routing import dedicated_agency_queues, money_queue_buckets, queue_names


def _queue(name: str, **kwargs: object) -> str:
    # The app's own router, as apply_async calls it (the options expanded to a kombu Queue).
    return app.amqp.router.route({}, name, (), kwargs, None)["queue"].name


def test_one_bucket_by_default_sends_every_agency_to_money_0() -> None:
    assert _queue("income.statement_import_step", import_id=1, agency_id=3) == "money.0"
    assert _queue("income.recognize_pending_agency", agency_id=8) == "money.0"


@override_settings(FENRUN_MONEY_QUEUE_BUCKETS=2)
def test_agency_3_goes_to_bucket_1_of_2_and_agency_8_to_bucket_0() -> None:
    assert _queue("income.statement_import_step", import_id=1, agency_id=3) == "money.1"
    assert _queue("income.statement_import_step", import_id=2, agency_id=8) == "money.0"
    assert _queue("recognition.batch_run", agency_id=5) == "money.1"  # the app to come


@override_settings(FENRUN_MONEY_QUEUE_BUCKETS=4, FENRUN_DEDICATED_AGENCY_QUEUES={42: "money.big"})
def test_a_dedicated_agency_gets_its_own_queue_and_the_others_keep_their_bucket() -> None:
    assert _queue("income.recognize_pending_agency", agency_id=42) == "money.big"
    assert _queue("income.recognize_pending_agency", agency_id=43) == "money.3"


def test_tasks_without_an_agency_or_off_the_money_path_stay_on_default() -> None:
    assert _queue("income.recognize_pending") == "default"  # the beat that fans out per agency
    assert _queue("income.statement_import_resume_stalled") == "default"
    assert _queue("income.statement_import_step", import_id=1) == "default"  # an old message
    assert _queue("contracts.version_activate", version_id=1) == "default"
    assert _queue("deals.flag_overdue", agency_id=3) == "default"  # not the money path
    assert _queue("common.ping") == "default"
    assert _queue("income.recognize_pending_agency", agency_id=True) == "default"  # not an id


def test_an_explicit_queue_given_by_the_caller_wins() -> None:
    options = app.amqp.router.route(
        {"queue": "default"}, "income.recognize_pending_agency", (), {"agency_id": 3}
    )
    assert options["queue"].name == "default"


def test_the_configured_queues_are_default_the_buckets_and_the_dedicated_ones() -> None:
    assert list(app.amqp.queues)[:2] == ["default", "money.0"]
    assert queue_names(buckets=3, dedicated={42: "money.big", 7: "money.big"}) == [
        "default",
        "money.0",
        "money.1",
        "money.2",
        "money.big",
    ]


def test_the_settings_are_read_strictly() -> None:
    assert money_queue_buckets("") == 1
    assert money_queue_buckets(" 8 ") == 8
    assert dedicated_agency_queues("42:big, 7:acme-1") == {42: "money.big", 7: "money.acme-1"}
    assert dedicated_agency_queues("") == {}
    for bad in ("0", "-1", "two", "1.5", "٣"):
        with pytest.raises(ConfigurationError):
            money_queue_buckets(bad)
    for bad in ("42", "big:42", "42:", "42:a.b", "42:7", "42:a,42:b", "x:y"):
        with pytest.raises(ConfigurationError):
            dedicated_agency_queues(bad)
