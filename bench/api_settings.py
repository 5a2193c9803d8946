"""Settings of bench/api.py's web server: production, plus the bare view the endpoints are compared with.

Only the benchmark loads this module; production code never sees the bare view.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
