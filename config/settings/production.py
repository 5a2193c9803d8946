"""Production: no development defaults for secrets or hosts, HTTPS everywhere.

Refuses to start without SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, CACHE_URL and EMAIL_URL, so a missing
variable fails the deploy instead of running with a development key, a SQLite file, rate limits that each
web process counts on its own, or emails printed to a console nobody reads.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

for _required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "EMAIL_URL"):
    if not env(_required, default=""):
        raise ImproperlyConfigured(f"Set the {_required} environment variable for production.")
# Rate limits count in the cache: every web process must share it (Redis), or each counts on its own.
if env("SMS_BACKEND", default="notifications.sms.ConsoleSmsBackend") == "notifications.sms.ConsoleSmsBackend":
    # The console backend only logs texts (customers' numbers included) and marks them sent.
    raise ImproperlyConfigured("Set the SMS_BACKEND (and SMS_HTTP_URL, SMS_HTTP_TOKEN) to a provider for production.")
if env("CACHE_URL").split(":", 1)[0] in ("locmemcache", "dummycache"):
    raise ImproperlyConfigured("Set CACHE_URL to a cache every web process shares, e.g. redis://host:6379/1.")

DEBUG = env.bool("DEBUG", default=False)

# Keep database connections between requests (opening one costs more than most requests), checked
# before reuse so a restarted PostgreSQL costs one failed check, not a failed request. Behind PgBouncer
# in transaction mode set DATABASE_CONN_MAX_AGE=0 and let the pool keep them, and
# DATABASE_DISABLE_SERVER_SIDE_CURSORS=true: the CSV export streams through a cursor that lives across
# transactions, which such a pool cannot keep on one server connection. Prepared statements (base
# settings) need PgBouncer 1.22+ with max_prepared_statements, or DATABASE_PREPARED_STATEMENTS=false.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(  # noqa: F405
    "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
)
DEMO_DATA_ALLOWED = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=True)
if WEBHOOK_ALLOW_PRIVATE_URLS:  # noqa: F405
    raise ImproperlyConfigured("WEBHOOK_ALLOW_PRIVATE_URLS is for development: never let webhooks reach inside.")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
