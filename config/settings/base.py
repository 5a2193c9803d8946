"""Settings shared by every mode, with safe development defaults.

Everything that differs between machines is read from the environment (or a `.env` file) through
django-environ; README lists every variable. `production.py` tightens these defaults, `test.py`
makes the suite fast and self-contained.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-development-only-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# `seed_demo` creates logins whose passwords are in the README: never on a production database.
DEMO_DATA_ALLOWED = True

# Absolute address of the portal, for links in emails and texts sent by background workers. In development
# it follows `PORT` (the port `make run` serves on), so links point where the portal really is.
PORT = env.int("PORT", default=8000)
PORTAL_URL = env("PORTAL_URL", default=f"http://localhost:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "corsheaders",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "notifications",
    "merchants",
    "webhooks",
    "pickups",
    "deliveries",
    "embed",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that answers on its own (WhiteNoise, CommonMiddleware), as django-cors-headers asks.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a login its backend refused into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process, a worker and beat share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
elif "postgresql" in DATABASES["default"]["ENGINE"] and env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # PostgreSQL parses every statement it is sent as text: much of its work for the API's small reads and
    # writes. With parameters bound on the server, psycopg prepares a statement a connection has run
    # five times (its default), so the connection's later runs skip parsing (bench/api.py).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every web process in production (rate limits): redis://host:6379/1.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "common.cache.RedisCache"  # Django's, without a new client per command

# django-axes' backend first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Client addresses: how many proxies in front of the portal append to X-Forwarded-For (a TLS proxy, a load
# balancer). 0: requests come straight from clients and the header is ignored, since anyone can write it.
# Every rate limit and lockout uses this one number: DRF's NUM_PROXIES, django-axes and common.clients.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Emails anyone could make us send (merchants.services.EMAIL_LIMITS), per account and per client.
INVITATION_RATE_LIMIT = env("INVITATION_RATE_LIMIT", default="10/hour")
SIGNUP_RATE_LIMIT = env("SIGNUP_RATE_LIMIT", default="5/hour")  # sign-ups and confirmation emails
PASSWORD_RESET_RATE_LIMIT = env("PASSWORD_RESET_RATE_LIMIT", default="5/hour")
# Delivery quotes (POST /api/v1/quotes/, which publishable keys in shops' web pages use): per key and per client.
QUOTE_RATE_LIMIT = env("QUOTE_RATE_LIMIT", default="60/minute")

# Password guessing (django-axes): the portal login, the admin login and the driver token API.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Failures are counted per account AND client address together: 5 wrong passwords for one account from one
# address lock that account from that address. Not per account alone: anyone anywhere could then lock a
# merchant or a driver on shift out of their own account, again every 15 minutes. Not per address alone: the
# shops of a mall share its Wi-Fi address and drivers share their carrier's, so one person's typos would lock
# out everybody there (and behind a proxy missing from TRUSTED_PROXY_COUNT every client shares one address).
# Many guesses from one address at many accounts are slowed by LOGIN_RATE_LIMIT on the driver API.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a good password clears that account's failures from that address
AXES_CLIENT_IP_CALLABLE = "common.clients.client_address"  # instead of django-ipware: one rule everywhere
AXES_LOCKOUT_CALLABLE = "common.clients.lockout_response"  # JSON for the API, a friendly page elsewhere
AXES_HANDLER = "common.clients.LockoutHandler"  # the database handler, aware of DRF's request wrapper

LANGUAGE_CODE = "en-us"
# Stored and computed in UTC; a site's own zone is applied where local time matters.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from here once collectstatic ran
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (proof-of-delivery photos): never served as static files, only through views that
# check who asks. Any Django storage backend can replace the file system through STORAGES.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# Email: EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587 (console by default).
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Mall Pickup <no-reply@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Extra addresses told about program events (new signups, alerts) besides staff users.
PROGRAM_ADMIN_EMAILS = env.list("PROGRAM_ADMIN_EMAILS", default=[])

# How long a worker holds a message it claimed before the sweep may send it again (a worker killed mid-send):
# longer than any one send can take (EMAIL_TIMEOUT, SMS_HTTP_TIMEOUT).
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=300)

# Text messages: notifications.sms.ConsoleSmsBackend logs them; HttpSmsBackend posts to a provider.
SMS_BACKEND = env("SMS_BACKEND", default="notifications.sms.ConsoleSmsBackend")
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="")
SMS_HTTP_TIMEOUT = env.int("SMS_HTTP_TIMEOUT", default=10)
SMS_FROM = env("SMS_FROM", default="MallPickup")

# Where street addresses get coordinates and a time zone; any callable(postal_code) -> GeoPoint.
GEOCODER = env("GEOCODER", default="common.geocoding.zipcode_geocoder")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "merchants.api.authentication.ApiKeyAuthentication",
        "deliveries.api.authentication.DriverTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: an endpoint open to drivers or the public says so itself.
    "DEFAULT_PERMISSION_CLASSES": ["merchants.api.permissions.IsMerchant"],
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        # The public tracking API and pages (/track/<code>/, its stop link) share one budget per client.
        "tracking": env("TRACKING_RATE_LIMIT", default="60/minute"),
        "login": env("LOGIN_RATE_LIMIT", default="10/minute"),
    },
    # Throttles tell clients apart by address: X-Forwarded-For only as far as our own proxies wrote it.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",  # documents every error response
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PageNumberWithSize",
}
# Drivers' API tokens (django-rest-knox): only a hash is stored, and they expire.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_PREFIX": "mpd_",
    "TOKEN_TTL": timedelta(hours=env.int("DRIVER_TOKEN_HOURS", default=12)),
    "AUTO_REFRESH": True,
    # A token's expiry is pushed back at most hourly (knox's default is every minute): a write per driver
    # request would cost more than the hour of a 12-hour token it could lose.
    "MIN_REFRESH_INTERVAL": 3600,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Mall Pickup merchant API",
    "DESCRIPTION": "Orders, pickups and deliveries for shops in the local pickup program.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Operation ids and tags from the path after /api/v1/ ("orders_ready_create", tag "orders").
    "SCHEMA_PATH_PREFIX": r"/api/v1/",
    # Request bodies get components of their own, with what only requests need (non-blank strings).
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are JSON; an operation that takes a file says multipart/form-data itself.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Swagger UI from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "pickups.models.OrderStatus",
        "PickupWindowStatusEnum": "pickups.models.PickupWindowStatus",
        "OfferStatusEnum": "deliveries.models.OfferStatus",
    },
}

# Content-Security-Policy (django-csp): only our own scripts, styles, images and connections. Inline scripts
# need a nonce (<script nonce="{{ request.csp_nonce }}">) or their hash here; the two hashes are of the inline
# scripts of pickups/order_form.html (add a package row) and pickups/order_import_detail.html (progress poll),
# checked by tests/test_security_logins.py. The API docs add what Swagger UI needs (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [
            SELF,
            NONCE,
            "'sha256-1KG1zrad6rrXCYneKwHFZSc6nJ57RkNV3gkPl9ZQHKo='",  # order_form.html: package rows
            "'sha256-MhCHXFVhQPpaq8oEtkASeQUGI1WCaihadL2wEWwU3Mw='",  # order_import_detail.html: progress poll
        ],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Cross-origin requests (django-cors-headers): only the quote endpoint answers them, and only for the web origins
# that an active publishable key lists (embed.cors, through the check_request_enabled signal; none by setting).
# Never with cookies: a shop's page asks with its publishable key, not with anyone's portal login.
CORS_URLS_REGEX = r"^/api/v1/quotes/$"
CORS_ALLOWED_ORIGINS = []
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["OPTIONS", "POST"]
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type"]
CORS_EXPOSE_HEADERS = ["date", "retry-after"]  # the widget corrects a wrong clock, and waits when limited
CORS_PREFLIGHT_MAX_AGE = 600  # how long a browser may keep a preflight answer (an origin removed stops after)

# Celery: an embedded filesystem broker by default, so a real worker and beat run on a bare
# machine; Redis (redis://127.0.0.1:6379/0) in production.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A task a worker took and never acknowledged (it was killed mid-run: tasks are acked late) goes back to the
    # queue this long after it was taken, found by a scan every 10 s: a killed worker's work resumes within about
    # 5 minutes, not an hour. Longer than the hard time limit of every task (config/celery.py), so a task still
    # running is never handed to a second worker, and than any countdown (tests/config/test_celery.py).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,  # scan at every interval, not every tenth (kombu's default)
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule"))

# Pickup planning and driver offers (minutes unless named otherwise).
PICKUP_LEAD_MINUTES = env.int("PICKUP_LEAD_MINUTES", default=60)  # a window must start at least this far ahead
OFFER_LEAD_MINUTES = env.int("OFFER_LEAD_MINUTES", default=120)  # offers go out this long before a window
OFFER_EXPIRY_MINUTES = env.int("OFFER_EXPIRY_MINUTES", default=10)
OFFER_WAVE_MINUTES = env.int("OFFER_WAVE_MINUTES", default=5)  # the next, wider wave after this long
OFFER_WAVE_SIZE = env.int("OFFER_WAVE_SIZE", default=5)  # drivers offered per wave, nearest first
OFFER_WAVE_RADII_MILES = env.list("OFFER_WAVE_RADII_MILES", cast=float, default=[5.0, 10.0, 20.0])
AT_RISK_MINUTES = env.int("AT_RISK_MINUTES", default=30)  # no driver this close to the start: alert admins
# The visit at the counters.
ARRIVE_EARLY_MINUTES = env.int("ARRIVE_EARLY_MINUTES", default=30)  # check-in opens this long before the start
ARRIVE_RADIUS_MILES = env.float("ARRIVE_RADIUS_MILES", default=0.5)  # a check-in's location must be this close
DEPART_GRACE_MINUTES = env.int("DEPART_GRACE_MINUTES", default=30)  # a visit nobody ended closes this long after
MAX_DELIVERY_ATTEMPTS = env.int("MAX_DELIVERY_ATTEMPTS", default=2)  # then only collected in store or cancel
# The order list's bulk actions: more orders than this to flag ready, or labels to print, go to a worker with a progress
# page (pickups.bulk_actions). 200 labels take about 6 s to draw: longer would hold the page and a web worker.
BULK_WORKER_THRESHOLD = env.int("BULK_WORKER_THRESHOLD", default=200)

# Webhooks to merchants' systems: only public https endpoints in production (see webhooks.sending).
WEBHOOK_HTTPS_ONLY = env.bool("WEBHOOK_HTTPS_ONLY", default=False)
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)  # seconds to connect and to answer
# Miles between a run's stops (deliveries.routing): any callable(points) -> matrix; straight lines by default.
ROUTE_DISTANCE_MATRIX = env("ROUTE_DISTANCE_MATRIX", default="deliveries.routing.straight_line_miles")
ROUTE_AVERAGE_MPH = env.float("ROUTE_AVERAGE_MPH", default=25.0)  # a driver's average speed between stops
ROUTE_STOP_MINUTES = env.int("ROUTE_STOP_MINUTES", default=4)  # time spent handing over a parcel at each stop

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
