"""Settings for benchmark servers: the project's, plus a bare baseline view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
