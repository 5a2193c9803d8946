"""Idempotency-Key for API writes: a retried request gets the first response, not a second order."""

import hashlib
import json
from datetime import timedelta
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.response import Response

from .models import IdempotencyKey

# Kept at least this long; a daily task deletes older keys.
KEEP_KEYS_FOR = timedelta(hours=48)


def idempotent(view_method):
    """Wrap a DRF view method so an `Idempotency-Key` header makes it safe to retry.

    The key, scoped to the merchant, is inserted in the same transaction as the work: a concurrent
    request with the same key waits on the unique index and then replays the committed response.
    Only successful responses are kept; a failed request leaves the key free to use again.
    """

    @wraps(view_method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not 1 <= len(key) <= 255:
            return Response({"detail": "Idempotency-Key must be 1 to 255 characters."}, status.HTTP_400_BAD_REQUEST)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(merchant=request.merchant, key=key, request_hash=fingerprint)
            except IntegrityError:
                return _replay(request.merchant, key, fingerprint)
            response = view_method(view, request, *args, **kwargs)
            if status.is_success(response.status_code):
                record.status_code, record.response_body = response.status_code, response.data
                record.save(update_fields=["status_code", "response_body"])
            else:
                transaction.set_rollback(True)
            return response

    return wrapper


def idempotency_keys_expire() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - KEEP_KEYS_FOR).delete()
    return deleted


def _fingerprint(request) -> str:
    payload = json.dumps([request.method, request.path, request.data], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(merchant, key, fingerprint) -> Response:
    record = IdempotencyKey.objects.get(merchant=merchant, key=key)
    if record.request_hash != fingerprint:
        return Response(
            {"detail": "This Idempotency-Key was already used with a different request. Use a new key."},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
