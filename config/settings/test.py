"""The test suite: fast hashing, captured email, tasks run in-process unless a test starts a worker.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so CI runs the same suite
on SQLite and again on PostgreSQL with Redis.
"""

import os
import tempfile

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PORTAL_URL = "http://testserver"

# Django's test client logs in without a request, which django-axes' backend refuses; the tests of lockouts
# (tests/test_security_logins.py) turn it on.
AXES_ENABLED = False

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Each pytest-xdist process gets its own queue, so a worker started by one process never runs
# tasks meant for another process's test database.
CELERY_TASK_DEFAULT_QUEUE = f"tests-{_worker}"

# Uploaded photos go to a scratch folder per test process, never into var/.
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"mallpickup-test-media-{_worker}")
