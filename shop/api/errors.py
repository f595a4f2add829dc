"""How errors under /api/ become problem details (config/problems.py)."""

import logging

from django.http import Http404
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, HttpError, ValidationError

from config.problems import FieldError, Problem, problem_response

logger = logging.getLogger(__name__)


def _validation_error(request, exc: ValidationError):
    errors = []
    for error in exc.errors:
        # ninja's `loc` is ("body", "payload", "field") or ("query", "field").
        loc = [str(part) for part in error.get("loc", ()) if part != "payload"]
        errors.append(FieldError(field=".".join(loc), message=error.get("msg", "")))
    return problem_response(request, Problem("validation-failed", errors=errors))


def _unauthorized(request, exc):
    return problem_response(
        request,
        Problem(
            "unauthorized",
            "Send a valid Cognito access token (Authorization: Bearer) or sign in.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        ),
    )


def _http_error(request, exc: HttpError):
    kinds = {400: "malformed-request", 404: "not-found", 405: "method-not-allowed"}
    kind = kinds.get(exc.status_code, "malformed-request")
    return problem_response(request, Problem(kind, str(exc)))


def _server_error(request, exc: Exception):
    logger.exception("API error on %s", request.path, exc_info=exc)
    return problem_response(request, Problem("server-error"))


def exception_handlers_install(api) -> None:
    api.add_exception_handler(Problem, problem_response)
    api.add_exception_handler(ValidationError, _validation_error)
    api.add_exception_handler(AuthenticationError, _unauthorized)
    api.add_exception_handler(
        Http404, lambda request, exc: problem_response(request, Problem("not-found"))
    )
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Exception, _server_error)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Unknown paths under /api/: a problem, never the site's HTML 404."""
    return problem_response(request, Problem("not-found", "No such endpoint."))


def method_not_allowed_as_problem(view):
    """ninja answers a wrong method with an HTML-typed 405; make it a problem."""

    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get(
            "Content-Type", ""
        ):
            problem = problem_response(
                request,
                Problem("method-not-allowed", f"{request.method} is not allowed here."),
            )
            problem["Allow"] = response.get("Allow", "")
            return problem
        return response

    wrapper.__dict__.update(view.__dict__)
    return wrapper
