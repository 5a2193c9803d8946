import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# The first task a web process queues would import the broker's transport (most of a second of CPU) inside
# someone's request: a driver accepting a pickup, a merchant flagging an order ready. Each process does it
# as it starts instead. (No connection is opened here.)
from config.celery import app as celery_app  # noqa: E402  after Django is set up

celery_app.connection_for_write().release()
