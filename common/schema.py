"""The OpenAPI schema says what the API really answers: every error each operation can give, in the
shape common.api gives it, and formats that match what the serializers accept and return.

One AutoSchema (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) derives the errors from the operation itself
(a body, query or path parameters, authentication, throttles); the two rules a view's signature
cannot show (state moves and store codes) are the tables below. tests/contract checks it all against
the running API with schemathesis.
"""

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from common.geocoding import ZIP_CODE, validate_zip_code

# Operations that move an order, offer, window or webhook secret along its states: an illegal move is 409
# (TransitionError).
STATE_MOVES = {
    "orders_partial_update",  # an order may change only until it is flagged ready
    "orders_ready_create",
    "orders_collected_create",
    "orders_cancel_create",
    "driver_offers_accept_create",
    "driver_offers_decline_create",
    "driver_windows_arrive_create",
    "driver_windows_pickup_create",
    "driver_windows_depart_create",
    "driver_windows_release_create",
    "driver_orders_deliver_create",
    "driver_orders_fail_create",
    "webhooks_rotate_secret_create",  # again before the previous secret stopped signing
}
# Operations that check a store code: too many wrong ones lock the store for a while, 429 (TooManyAttemptsError).
STORE_CODE_CHECKS = {"driver_windows_pickup_create", "driver_returns_create"}

ERRORS = {
    400: "Invalid input: each field with its messages (`detail` alone when the request could not be read).",
    401: "No credentials, or an unknown, revoked or expired API key or token.",
    403: "Not allowed: not this kind of account, an account not in good standing, a wrong store code, "
    "or no CSRF token with a session.",
    404: "No such object, or not yours.",
    409: "The object's current state does not allow this (it was already moved on, or is not at that step yet).",
    413: "The body is too large.",
    415: "The body is not in a supported format (Content-Type).",
    422: "This Idempotency-Key was already used with a different request.",
    429: "Too many requests or wrong codes in a short while: wait, then try again.",
    503: "The database cannot answer right now (common.unavailable): nothing was done; try again after "
    "`Retry-After` seconds (with the same `Idempotency-Key`, where the operation takes one).",
}

# Opening hours, cutoffs and closures are wall-clock times of the site's own zone (its `timezone`), the same
# every day: they have no UTC offset (a zone's offset changes with DST), so they are not RFC 3339 `time`.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{6})?$"

# Checks done by a validator function rather than a field option, as the patterns they amount to.
VALIDATOR_PATTERNS = {validate_zip_code: f"^{ZIP_CODE.pattern}$"}

# Any nesting of messages: a list of strings for a field, an object for a nested object or a list's items by
# index, a list of such objects for a list of nested objects.
FIELD_ERRORS = {
    "anyOf": [
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"$ref": "#/components/schemas/FieldErrors"}]}},
        {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"}},
    ]
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Each field in error with its messages; `non_field_errors` for the request as a whole.",
    "properties": {
        "detail": {
            "description": "Alone, when the request could not be read (bad JSON, too many fields).",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        }
    },
    "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
    "example": {"postal_code": ["We don't know the ZIP code “8522”. Use a 5-digit ZIP code, e.g. 85226."]},
}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words to show.")

    class Meta:
        ref_name = "Error"


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            for status in sorted(self._error_statuses(operation)):
                operation["responses"].setdefault(str(status), self._error_response(status))
        return operation

    def _error_statuses(self, operation) -> set[int]:
        parameters = {(parameter["in"], parameter["name"]) for parameter in operation.get("parameters", [])}
        body = "requestBody" in operation
        # Credentials given are checked wherever the view reads any (401 if wrong; 403 for a session without its
        # CSRF token or a key not meant for this view), and a view that is not open to all refuses others (403).
        authenticated = bool(self.view.get_authenticators())
        restricted = not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        rules = {
            400: body or any(where in ("query", "header") for where, _ in parameters),
            401: authenticated,
            403: authenticated or restricted,
            404: any(where == "path" for where, _ in parameters) or ("query", "page") in parameters,
            409: operation["operationId"] in STATE_MOVES,
            413: body,
            415: body,
            422: ("header", "Idempotency-Key") in parameters,
            429: bool(self.view.get_throttles()) or operation["operationId"] in STORE_CODE_CHECKS,
            503: True,  # any request may find the database gone
        }
        return {status for status, applies in rules.items() if applies}

    def _error_response(self, status: int) -> dict:
        if status == 400:
            self._register("FieldErrors", FIELD_ERRORS)
            schema = self._register("ValidationError", VALIDATION_ERROR)
        else:
            schema = self.resolve_serializer(ErrorSerializer, "response").ref
        response = {"description": ERRORS[status], "content": {"application/json": {"schema": schema}}}
        if status == 503:
            seconds = {"type": "integer", "minimum": 1}
            response["headers"] = {"Retry-After": {"schema": seconds, "description": "Seconds to wait."}}
        return response

    def _register(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref

    def _get_filter_parameters(self):
        """django-filter reads an empty value (`?status=`) as no filter at all."""
        return [parameter | {"allowEmptyValue": True} for parameter in super()._get_filter_parameters()]

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            del schema["format"]
            schema |= {"pattern": LOCAL_TIME_PATTERN, "example": "14:00:00"}
        if direction == "request" and isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema = decimal_request_schema(field, schema)
        plain_text = isinstance(field, serializers.CharField) and not {"format", "pattern"} & set(schema)
        if direction == "request" and plain_text:
            patterns = [pattern for validator, pattern in VALIDATOR_PATTERNS.items() if validator in field.validators]
            if patterns:
                schema["pattern"] = patterns[0]
            elif not field.allow_blank and field.trim_whitespace:
                # spaces alone are trimmed to a blank, which is refused; DRF refuses a NUL character anywhere
                schema["pattern"] = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
            else:
                schema["pattern"] = r"^[^\u0000]*$"
        return schema


def decimal_request_schema(field: serializers.DecimalField, schema: dict) -> dict:
    """A decimal as a string (as answers give it) or a JSON number, both of which DRF reads."""
    outer = {key: schema.pop(key) for key in ("nullable", "description", "readOnly", "writeOnly") if key in schema}
    number = {"type": "number"}
    if field.max_value is not None:
        number["maximum"] = float(field.max_value)
    if field.min_value is not None:
        number["minimum"] = float(field.min_value)
    return outer | {"anyOf": [schema | {"pattern": decimal_pattern(field)}, number]}


def decimal_pattern(field: serializers.DecimalField) -> str:
    """What DRF reads as this field's decimal: at least one digit, at most its whole digits and places, and
    within ±limit when it has one (as the latitudes and longitudes do; a string cannot say `maximum`)."""
    places = field.decimal_places
    fraction = rf"(?:\.[0-9]{{0,{places}}})?"
    limit = field.max_value
    if limit is not None and field.min_value == -limit and limit == int(limit):
        number = rf"{whole_numbers_below(int(limit))}{fraction}|{int(limit)}(?:\.0{{0,{places}}})?"
    else:
        number = rf"[0-9]{{1,{field.max_whole_digits}}}{fraction}"
    return rf"^-?(?:{number}|\.[0-9]{{1,{places}}})$"


def whole_numbers_below(limit: int) -> str:
    """A pattern for the whole numbers 0 to limit - 1, without leading zeros: 90 gives [0-9]|[1-7][0-9]|8[0-9]."""
    digits = str(limit - 1)
    options = [r"[0-9]"] if len(digits) > 1 else []
    options += [rf"[1-9][0-9]{{{length - 1}}}" for length in range(2, len(digits))]
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 and len(digits) > 1 else 0
        if int(digit) > lowest:
            options.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}]" + "[0-9]" * (len(digits) - i - 1))
    options.append(digits)
    return f"(?:{'|'.join(options)})"
