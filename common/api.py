"""How the REST API speaks errors: always JSON with field names, never a 500 for bad input."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import NotAllowedError, TooManyAttemptsError, TransitionError
from .unavailable import database_unavailable, log_unavailable, unavailable_json, unavailable_page


def exception_handler(exc, context):
    """DRF's handler, plus our domain errors: illegal state moves 409, not allowed 403, too many tries 429,
    rule breaks 400; a body over DATA_UPLOAD_MAX_MEMORY_SIZE 413, as JSON like every other error; and a
    database connection lost mid-request 503 with Retry-After (the client sends it again)."""
    if database_unavailable(exc):
        log_unavailable(exc)
        return unavailable_json()
    if isinstance(exc, TransitionError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, TooManyAttemptsError):
        return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    if isinstance(exc, NotAllowedError):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RequestDataTooBig):  # Django's HTML 400 otherwise
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request is too large: send at most {limit} bytes (files apart)."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": "The request has too many fields or files."}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    return drf_exception_handler(exc, context)


def not_found(request, exception):
    """Django's 404 handler: JSON under /api/ (an address no endpoint has, such as /api/v1/orders/1.5/), the
    portal's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """Django's 500 handler, for whatever no view handled (portal views, middleware): a database that could
    not answer is a 503 with Retry-After, JSON under /api/ and the portal's page elsewhere; anything else
    Django's own 500. Django calls it while handling the exception, so sys.exc_info() holds it."""
    error = sys.exc_info()[1]
    if error is None or not database_unavailable(error):
        return defaults.server_error(request)
    log_unavailable(error)
    return unavailable_json() if request.path.startswith("/api/") else unavailable_page()
