"""The date-range control shared by every dashboard page."""

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.utils import timezone

from config.days import local_date, local_midnight

PRESETS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "custom": "Custom",
}
# Raw events are kept for about 90 days and the shop is young: a longer
# custom range would only scan empty partitions of time.
MAX_DAYS = 400
# Dates a range may start or end on: the shop's life, with room either
# side; the calendar's ends would overflow the previous period's arithmetic.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


@dataclass(frozen=True)
class DateRange:
    """Whole days in the shop's time zone: [first, last] inclusive."""

    first: dt.date
    last: dt.date
    preset: str = "custom"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> dt.datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight after the last day."""
        return local_midnight(self.last + dt.timedelta(days=1))

    @property
    def granularity(self) -> str:
        return "hour" if self.days <= 2 else "day"

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%d %b %Y}"
        return f"{self.first:%d %b %Y} – {self.last:%d %b %Y}"

    def previous(self) -> "DateRange":
        """The period of the same length just before this one."""
        return DateRange(
            first=self.first - dt.timedelta(days=self.days),
            last=self.first - dt.timedelta(days=1),
        )

    def querystring(self) -> str:
        if self.preset != "custom":
            return f"range={self.preset}"
        return f"range=custom&start={self.first:%Y-%m-%d}&end={self.last:%Y-%m-%d}"


def range_for_preset(preset: str, *, today: dt.date | None = None) -> DateRange:
    today = today or local_date(timezone.now())
    if preset == "today":
        return DateRange(first=today, last=today, preset=preset)
    if preset == "yesterday":
        day = today - dt.timedelta(days=1)
        return DateRange(first=day, last=day, preset=preset)
    days = {"7d": 7, "30d": 30, "90d": 90}[preset]
    return DateRange(
        first=today - dt.timedelta(days=days - 1), last=today, preset=preset
    )


class RangeForm(forms.Form):
    range = forms.ChoiceField(choices=list(PRESETS.items()), required=False)
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    compare = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        preset = data.get("range") or "30d"
        data["range"] = preset
        if preset == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(
                    "A custom range needs a start and an end date."
                )
            if not (start >= EARLIEST and end <= LATEST):
                raise forms.ValidationError(
                    f"Dates must fall between {EARLIEST:%Y} and {LATEST:%Y}."
                )
            if start > end:
                raise forms.ValidationError(
                    "The start date must be on or before the end date."
                )
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(
                    f"A range may span at most {MAX_DAYS} days."
                )
        return data

    def date_range(self) -> DateRange:
        data = self.cleaned_data
        if data["range"] == "custom":
            return DateRange(first=data["start"], last=data["end"])
        return range_for_preset(data["range"])
