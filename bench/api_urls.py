"""The portal's URLs plus `/bench/bare/`: the same process, middleware and database connection, doing
nothing but `SELECT 1`. bench/api.py divides each endpoint's requests per second by this view's."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as portal_urls


def bare(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(b'{"ok": true}', content_type="application/json")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *portal_urls]
