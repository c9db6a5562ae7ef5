"""What every HTML page does with a service's refusal: one decorator, `page_errors`.

Services raise ApplicationError for a person to read (apps/common/exceptions.py); the API turns
it into a problem document (apps/common/api.py), and pages into this:

* NotFound: Django's plain 404. Another tenant's rows and rows that do not exist answer the
  same, so the page says nothing about which (tenancy, STYLE.md).
* PermissionDenied: a 403 page that says why ("Only the agency's owner ...").
* any other ApplicationError a view did not handle itself (next to a form, as a message): a page
  with its message and its status (400, or the 409/429 the service chose), never a 500.

A view that shows a refusal next to its form still catches it itself; this is what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError, NotFound, PermissionDenied


def page_errors[View: Callable[..., HttpResponseBase]](view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except ApplicationError as error:
            return error_page(request, error)

    return wrapper  # type: ignore[return-value]


def error_page(request: HttpRequest, error: ApplicationError) -> HttpResponseBase:
    """The refusal as a page: its message, under a title that says what kind it is."""
    status = 403 if isinstance(error, PermissionDenied) else error.status
    if not 400 <= status < 500:
        status = 400  # a refusal is the client's to fix, never a server error
    title = _("Not allowed") if status == 403 else _("This could not be done")
    return render(
        request, "common/page_error.html", {"title": title, "message": error.message}, status=status
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponseBase:
    """handler404: under /api/ a path no route matches (a malformed id such as /deals/0/) is a
    problem document like every other API answer, as the schema documents; pages keep Django's
    404 page. (`make attack`'s schema check found HTML 404s on the API.)"""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse(
            {
                "type": "https://fenrun.org/problems/not_found",
                "title": "Not found",
                "status": 404,
                "detail": _("Nothing here: check the path and the id in it."),
                "code": "not_found",
            },
            status=404,
            content_type="application/problem+json",
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())
