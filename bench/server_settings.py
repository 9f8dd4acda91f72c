"""Settings of the HTTP server figure 5 loads: ``bench.settings`` plus one bench-only URL.

gunicorn serves ``blipay.wsgi`` with ``DJANGO_SETTINGS_MODULE=bench.server_settings``: the
product's middleware, DRF settings, authentication, database and broker, unchanged; only
the URL conf differs, adding the bare endpoint of ``bench.server_urls`` next to Blipay's.
"""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.server_urls"
