"""Staff dashboards: a range form, one cached panel, then render or CSV."""

import functools
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.middleware import SAFE_METHODS, session_check
from shop.forms import RefundForm
from shop.models import Order
from shop.selectors import order_for_staff

from . import panels, selectors
from .archive import archive_state
from .cache import panel_cached, panel_generation
from .exports import Table, csv_response
from .forms import PRESETS, RangeForm
from .jobs import job_set_enabled, jobs_state
from .tasks import job_run_enqueue

logger = logging.getLogger(__name__)

PAGES = [
    ("overview", "Overview"),
    ("sales", "Sales"),
    ("products", "Products"),
    ("funnel", "Funnel"),
    ("traffic", "Traffic"),
    ("search", "Search"),
    ("customers", "Customers"),
    ("realtime", "Realtime"),
    ("data", "Data"),
]


def staff_required(view):
    """Anonymous visitors sign in first; signed-in shoppers are refused."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        # A staff-only write re-checks the staff group with Cognito at once
        # (reads within accounts.middleware.STAFF_RECHECK_SECONDS): a removed
        # staff member is signed out before it lands.
        confirmed = request.method in SAFE_METHODS or session_check(request, force=True)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not (confirmed and request.user.is_active and request.user.is_staff):
            raise PermissionDenied("The dashboards are for staff only.")
        return view(request, *args, **kwargs)

    return wrapped


def _export(request, tables: list[Table], page: str, label: str):
    slug = request.GET.get("export")
    if not slug:
        return None
    for table in tables:
        if table.slug == slug:
            return csv_response(table=table, filename=f"{page}-{table.slug}-{label}")
    raise Http404("No such table on this page.")


@require_GET
@staff_required
def range_page(request, page: str):
    """Any dashboard page driven by a date range (the URLconf names the page)."""
    form = RangeForm(request.GET)
    context = {
        "pages": PAGES,
        "page": page,
        "presets": PRESETS,
        "form": form,
        "time_zone": settings.TIME_ZONE,
    }
    if not form.is_valid():
        return render(request, "adminpanel/page.html", context, status=400)
    rng = form.date_range()
    now = timezone.now()
    data = panel_cached(
        name=page,
        parts=(rng.first, rng.last),
        compute=lambda: panels.PANELS[page](rng=rng, now=now),
        generation=panel_generation(),
    )
    exported = _export(request, data["tables"], page, f"{rng.first}-{rng.last}")
    if exported:
        return exported
    context.update(data=data, rng=rng, previous=rng.previous())
    return render(request, f"adminpanel/{page}.html", context)


@require_GET
@staff_required
def realtime(request):
    data = panels.realtime_tables(now=timezone.now())
    exported = _export(request, data["tables"], "realtime", "now")
    if exported:
        return exported
    return render(
        request,
        "adminpanel/realtime.html",
        {"pages": PAGES, "page": "realtime", "data": data},
    )


@require_GET
@staff_required
def realtime_partial(request):
    """The live fragment that dashboard.js swaps in every 10 seconds."""
    data = panels.realtime_tables(now=timezone.now())
    response = render(request, "adminpanel/partials/_realtime.html", {"data": data})
    response["Cache-Control"] = "private, no-store"
    return response


def _safe_call(func):
    try:
        return func()
    except Exception:
        logger.exception("Could not read %s for the Data page", func.__name__)
        return None


def _job_rows(state) -> list[dict]:
    """One row per job: its switch and its latest run."""
    rows = []
    for job in state or []:
        last = (job.get("last_runs") or [{}])[0]
        rows.append(
            {
                "name": job.get("name"),
                "interval": job.get("interval"),
                "enabled": job.get("enabled"),
                "last run": last.get("started_at"),
                "status": last.get("status"),
                "seconds": last.get("duration_seconds"),
                "error": last.get("error"),
            }
        )
    return rows


# What the Data page says, instead of an exception, when the archive cannot
# be read: the first rule whose words appear in the error applies.
ARCHIVE_SETUP_HELP = [
    (
        ("NoSuchBucket",),
        "The archive bucket “{bucket}” does not exist. Create it (the CDK app's "
        "data stack does), or set AWS_ARCHIVE_BUCKET to a bucket that exists.",
    ),
    (
        ("NoCredentials", "credentials", "AccessDenied", "InvalidAccessKeyId"),
        "The shop has no AWS credentials allowed to read “{bucket}”. Give the "
        "task role (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) read and "
        "write access to the bucket.",
    ),
    (
        ("EndpointConnectionError", "Could not connect", "timed out", "Timeout"),
        "S3 cannot be reached. Offline, `make run` starts a local stand-in (or "
        "set AWS_ENDPOINT_URL to one); in production, check the task's network "
        "route to S3.",
    ),
]
ARCHIVE_UNREADABLE = (
    "The archive in “{bucket}” cannot be read. The server log has the details; "
    "docs/operations.md explains how the archive is set up."
)


def _archive_help(error: str, bucket: str) -> str:
    for words, message in ARCHIVE_SETUP_HELP:
        if any(word in error for word in words):
            return message.format(bucket=bucket)
    return ARCHIVE_UNREADABLE.format(bucket=bucket)


def _archive(state) -> tuple[dict, list[dict]]:
    if not state:
        return {}, []
    summary = {k: v for k, v in state.items() if k != "tables" and v not in (None, "")}
    if summary.get("error"):
        logger.warning("Data page: %s", summary["error"])
        summary["error"] = _archive_help(summary["error"], state.get("bucket", ""))
    tables = [
        t if isinstance(t, dict) else {"table": t} for t in state.get("tables") or []
    ]
    return summary, tables


@require_GET
@staff_required
def data(request):
    stats = selectors.table_stats()
    tables = [
        Table(
            slug="tables",
            title="Tables",
            note="Row counts above 100,000 are the planner's estimate.",
            columns=[
                ("Table", "table", "text"),
                ("Rows", "rows", "int"),
                ("Size (bytes)", "bytes", "int"),
            ],
            rows=stats,
        )
    ]
    exported = _export(request, tables, "data", "now")
    if exported:
        return exported
    jobs = _job_rows(_safe_call(jobs_state))
    archive_summary, archives = _archive(_safe_call(archive_state))
    context = {
        "pages": PAGES,
        "page": "data",
        "tables": tables,
        "jobs": jobs,
        "job_columns": list(jobs[0]) if jobs else [],
        "archive_summary": archive_summary,
        "archives": archives,
        "archive_columns": list(archives[0]) if archives else [],
    }
    return render(request, "adminpanel/data.html", context)


@require_POST
@staff_required
def job_action(request, name: str, action: str):
    """Queue a run of a periodic job for the task worker, or switch it on or off."""
    if action == "run":
        func, kwargs = job_run_enqueue, {}
    elif action in {"enable", "disable"}:
        func, kwargs = job_set_enabled, {"enabled": action == "enable"}
    else:
        raise Http404("No such action.")
    try:
        func(name=name, **kwargs)
    except (KeyError, LookupError, ValueError) as exc:
        messages.error(request, f"Job {name!r}: {exc}")
    else:
        done = "queued for the task worker" if action == "run" else f"{action}d"
        messages.success(request, f"Job {name!r}: {done}.")
    return redirect("adminpanel:data")


def _order_for_staff(number: str) -> Order:
    try:
        return order_for_staff(number=number)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


def _order_page(request, order: Order, form: RefundForm, status: int = 200):
    return render(
        request,
        "adminpanel/order.html",
        {"pages": PAGES, "page": "sales", "order": order, "form": form},
        status=status,
    )


@require_GET
@staff_required
def order(request, number: str):
    """One order for staff: its lines, payment, status history and refunds."""
    order = _order_for_staff(number)
    return _order_page(request, order, RefundForm(order=order))


@require_POST
@staff_required
def order_refund(request, number: str):
    """
    A full or partial refund, restocking the lines staff choose: the admin's
    form and service (RefundForm.submit). Staff are checked again on this
    write by `staff_required`, as on every dashboard request.
    """
    order = _order_for_staff(number)
    form = RefundForm(request.POST, order=order)
    refund = form.submit(by=request.user)
    if refund is None:
        # The form with its errors, the page as it was: nothing was written.
        return _order_page(request, order, form, status=400)
    messages.success(
        request, f"Refunded {refund.amount} {refund.currency} on {order.number}."
    )
    return redirect("adminpanel:order", number=order.number)
