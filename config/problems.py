"""
RFC 9457 problem details, the one error format of the JSON API: every error
under /api/ is `application/problem+json` with a stable `type` per kind.

Kept in config, the bottom layer, because both the shop's API and the
account endpoints that accounts contributes to it raise these.
"""

from django.http import JsonResponse
from pydantic import BaseModel

PROBLEM_TYPE = "urn:northwind:problem:{}"

# Each kind of error: (HTTP status, title). The slugs are part of the API.
PROBLEMS = {
    "malformed-request": (400, "The request could not be read"),
    "unauthorized": (401, "Sign-in required"),
    "csrf-failed": (403, "CSRF check failed"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "cart-rejected": (409, "The cart cannot be changed so"),
    "checkout-rejected": (409, "The order cannot be placed"),
    "validation-failed": (422, "The request is not valid"),
    "rate-limited": (429, "Too many requests"),
    "server-error": (500, "Something went wrong on our side"),
    "auth-unavailable": (503, "Sign-in is temporarily unavailable"),
}


class FieldError(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] = []
    problems: list[str] = []


class Problem(Exception):
    """Raised by an endpoint to answer with problem details."""

    def __init__(
        self,
        kind: str,
        detail: str = "",
        *,
        errors: list[FieldError] = (),
        problems: list[str] = (),
        headers: dict | None = None,
    ):
        super().__init__(detail or PROBLEMS[kind][1])
        self.kind = kind
        self.detail = detail or PROBLEMS[kind][1]
        self.errors = list(errors)
        self.problems = list(problems)
        self.headers = headers or {}


def problem_response(request, problem: Problem) -> JsonResponse:
    status, title = PROBLEMS[problem.kind]
    body = ProblemOut(
        type=PROBLEM_TYPE.format(problem.kind),
        title=title,
        status=status,
        detail=problem.detail,
        instance=request.path,
        errors=problem.errors,
        problems=problem.problems,
    )
    response = JsonResponse(
        body.model_dump(), status=status, content_type="application/problem+json"
    )
    response["Cache-Control"] = "private, no-store"
    for name, value in problem.headers.items():
        response[name] = value
    return response


def form_problem(form) -> Problem:
    """A Django form's errors as a 422 with one entry per field."""
    errors = [
        FieldError(field=field if field != "__all__" else "", message=str(message))
        for field, messages in form.errors.items()
        for message in messages
    ]
    return Problem("validation-failed", errors=errors)


# The error responses each kind of operation documents.
READ = {400: ProblemOut, 404: ProblemOut, 422: ProblemOut}
# Every operation that may see a token or a session cookie.
AUTH = {401: ProblemOut, 403: ProblemOut, 503: ProblemOut}
WRITE = {**READ, **AUTH, 409: ProblemOut}
