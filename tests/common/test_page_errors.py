"""page_errors (apps/common/views.py): a service's refusal on an HTML page is a 4xx page that says
why, never a 500; another tenant's row a plain 404."""

from __future__ import annotations

from html import escape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied
from apps.common.views import page_errors
from apps.deals.services import deal_expense_approve, deal_expense_submit
from tests.conftest import web_as
from tests.contracts.conftest import active_contract
from tests.deals.conftest import deal


def _request():  # type: ignore[no-untyped-def]
    request = RequestFactory().get("/somewhere/")
    request.user = AnonymousUser()
    return request


def _view_raising(error: Exception):  # type: ignore[no-untyped-def]
    @page_errors
    def view(request) -> HttpResponse:  # type: ignore[no-untyped-def]
        raise error

    return view


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ApplicationError("The period is closed."), 400),
        (ApplicationError("Someone changed it first.").with_status(409), 409),
        (ApplicationError("Too many tries.").with_status(429), 429),
        (PermissionDenied("Only the agency's owner may do this."), 403),
        (ApplicationError("Misconfigured status.").with_status(500), 400),
    ],
)
def test_a_refusal_is_a_page_with_its_message_and_a_4xx(error: ApplicationError, status: int) -> None:
    response = _view_raising(error)(_request())
    assert response.status_code == status
    assert f'<p id="refusal" role="alert">{escape(error.message)}</p>' in response.content.decode()


def test_not_found_is_the_plain_404() -> None:
    with pytest.raises(Http404):
        _view_raising(NotFound())(_request())


def test_a_page_answers_a_view_that_returns_normally_untouched() -> None:
    view = page_errors(lambda request: HttpResponse("fine"))
    assert view(_request()).content == b"fine"


@pytest.mark.django_db
def test_a_manager_approving_an_expense_is_told_why_on_a_403_page(world) -> None:
    active_contract(world)
    target = deal(world, fee_minor=10_000_00)
    expense = deal_expense_submit(
        deal=target,
        actor=world.manager_a,
        description="Studio",
        amount_minor=1_00,
        receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.7\n%receipt\n"),
    )
    with pytest.raises(PermissionDenied) as refusal:
        deal_expense_approve(expense=expense, actor=world.manager_a)
    response = web_as(world.manager_a).post(f"/deals/expenses/{expense.public_id}/approve/")
    assert response.status_code == 403
    assert escape(refusal.value.message) in response.content.decode()
