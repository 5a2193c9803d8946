"""Settings come from the environment; production refuses to start half-configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = (
    "DATABASE_URL",
    "DATABASE_PREPARED_STATEMENTS",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "EMAIL_URL",
    "CACHE_URL",
    "SMS_BACKEND",
    "SMS_HTTP_URL",
    "TRUSTED_PROXY_COUNT",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_LOCKOUT_MINUTES",
    "TRACKING_RATE_LIMIT",
    "LOGIN_RATE_LIMIT",
    "PORT",
    "PORTAL_URL",
    "PYTEST_XDIST_WORKER",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests in this process
)
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k3#v9!x2@q8$w7%e6^r5&t4*y3(u2)i1_o0+p-zA-zB-zC-zD-zE-zF",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://portal:secret@db.example.com:5433/portal",
    "CACHE_URL": "redis://cache.example.com:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
    "SMS_BACKEND": "notifications.sms.HttpSmsBackend",
    "SMS_HTTP_URL": "https://sms.example.com/messages",
}


def run(code_or_args, **env):
    base = {key: value for key, value in os.environ.items() if key not in OURS}
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60)


READ_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "db": [db["ENGINE"], db["NAME"], db["USER"], db["HOST"], db["PORT"]],
    "broker": s.CELERY_BROKER_URL, "hosts": s.ALLOWED_HOSTS, "debug": s.DEBUG,
    "email": [s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS],
    "admins": s.PROGRAM_ADMIN_EMAILS, "tz": s.TIME_ZONE, "use_tz": s.USE_TZ,
    "cache": [s.CACHES["default"]["BACKEND"], s.CACHES["default"]["LOCATION"]],
    "proxies": [s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK["NUM_PROXIES"]],
    "lockout": [s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds()],
    "rates": s.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
}))
"""


def test_every_machine_specific_setting_comes_from_the_environment():
    result = run(
        READ_SETTINGS,
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL="postgres://portal:secret@db.example.com:5433/portal",
        CELERY_BROKER_URL="redis://cache.example.com:6379/2",
        ALLOWED_HOSTS="portal.example.com,admin.example.com",
        DEBUG="false",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
        PROGRAM_ADMIN_EMAILS="ops@example.com,lead@example.com",
        CACHE_URL="redis://cache.example.com:6379/1",
        TRUSTED_PROXY_COUNT="2",
        LOGIN_FAILURE_LIMIT="8",
        LOGIN_LOCKOUT_MINUTES="30",
        TRACKING_RATE_LIMIT="20/minute",
    )

    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["db"] == ["django.db.backends.postgresql", "portal", "portal", "db.example.com", 5433]
    assert parsed["broker"] == "redis://cache.example.com:6379/2"
    assert parsed["hosts"] == ["portal.example.com", "admin.example.com"]
    assert parsed["debug"] is False
    assert parsed["email"] == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com", 587, True]
    assert parsed["admins"] == ["ops@example.com", "lead@example.com"]
    assert (parsed["tz"], parsed["use_tz"]) == ("UTC", True)
    assert parsed["cache"] == ["common.cache.RedisCache", "redis://cache.example.com:6379/1"]
    assert parsed["proxies"] == [2, 2]
    assert parsed["lockout"] == [8, 30 * 60]
    assert parsed["rates"] == {"tracking": "20/minute", "login": "10/minute"}


def test_the_defaults_need_no_server():
    result = run(READ_SETTINGS, DJANGO_SETTINGS_MODULE="config.settings.base")

    parsed = json.loads(result.stdout)
    assert parsed["db"][0] == "django.db.backends.sqlite3" and parsed["db"][1].endswith("var/db.sqlite3")
    assert parsed["broker"] == "filesystem://"
    assert parsed["email"][0] == "django.core.mail.backends.console.EmailBackend"
    assert parsed["proxies"] == [0, 0]  # X-Forwarded-For ignored unless proxies are declared
    assert parsed["lockout"] == [5, 15 * 60]


def test_links_follow_the_port_the_portal_serves_on_unless_its_address_is_given():
    code = "import django; django.setup(); from django.conf import settings; print(settings.PORTAL_URL)"

    moved = run(code, DJANGO_SETTINGS_MODULE="config.settings.base", PORT="8123")
    given = run(code, DJANGO_SETTINGS_MODULE="config.settings.base", PORT="8123", PORTAL_URL="https://portal.example/")

    assert moved.stdout.strip() == "http://localhost:8123"
    assert given.stdout.strip() == "https://portal.example"


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "EMAIL_URL", "SMS_BACKEND"]
)
def test_production_refuses_to_start_without_its_essentials(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

    result = run(READ_SETTINGS, **env)

    assert result.returncode != 0
    assert f"Set the {missing} " in result.stderr


def test_production_passes_the_deployment_checklist():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("cache_url", ["locmemcache://", "dummycache://"])
def test_production_refuses_a_cache_each_process_keeps_to_itself(cache_url):
    result = run(READ_SETTINGS, **PRODUCTION_ENV | {"CACHE_URL": cache_url})

    assert result.returncode != 0
    assert "Set CACHE_URL to a cache every web process shares" in result.stderr


def test_production_refuses_to_seed_demo_logins():
    result = run(["manage.py", "seed_demo"], **PRODUCTION_ENV)

    assert result.returncode != 0
    assert "seed_demo does not run under production settings" in result.stderr
    assert "passwords are published in the README" in result.stderr
