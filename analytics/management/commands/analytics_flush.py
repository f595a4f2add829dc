"""Drain this process's event buffer into the sinks and print the counters."""

import json

from django.core.management.base import BaseCommand

from analytics.services import analytics_health, events_flush


class Command(BaseCommand):
    help = "Flush buffered clickstream events now and show the sink counters."

    def handle(self, *args, verbosity, **options):
        taken = events_flush()
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Flushed {taken} events."))
            self.stdout.write(json.dumps(analytics_health(), indent=2))
