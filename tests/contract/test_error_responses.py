"""The schema's error responses and formats (common.schema) and the answers behind them; fast, always run.
test_schema_contract.py checks the whole API against the schema with schemathesis."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import StoreFactory


@pytest.fixture
def schema(db):
    return APIClient().get(reverse("api-schema"), {"format": "json"}).json()


def responses(schema, method, path):
    return set(schema["paths"][path][method]["responses"])


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    for operations in schema["paths"].values():
        for operation in operations.values():
            codes = set(operation["responses"])
            assert codes & {"401", "404", "429"}, operation["operationId"]  # every one can fail somehow
            for code in codes - {"200", "201", "202", "204"}:
                shape = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert shape.endswith("/ValidationError" if code == "400" else "/Error"), operation["operationId"]


def test_each_rule_adds_the_errors_it_can_cause(schema):
    # a body: 400, 413, 415; a path id: 404; a state move: 409; a store code and a throttle: 429
    assert responses(schema, "post", "/api/v1/orders/{id}/cancel/") == {
        "200", "400", "401", "403", "404", "409", "413", "415", "503"
    }  # fmt: skip
    assert responses(schema, "post", "/api/v1/orders/{id}/ready/") == {"200", "401", "403", "404", "409", "503"}
    assert "422" in responses(schema, "post", "/api/v1/orders/")  # Idempotency-Key
    assert "429" in responses(schema, "post", "/api/v1/driver/windows/{id}/pickup/")
    # open to all, no credentials read: no 401 or 403; throttled: 429
    assert responses(schema, "get", "/api/v1/track/{tracking_code}/") == {"200", "404", "429", "503"}
    assert responses(schema, "post", "/api/v1/auth/token/") == {"200", "400", "413", "415", "429", "503"}
    # a list: 400 for its query parameters, 404 for a page past the last
    assert responses(schema, "get", "/api/v1/stores/") == {"200", "400", "401", "403", "404", "503"}
    # any operation: 503 when the database is gone, with when to try again
    assert schema["paths"]["/api/v1/orders/"]["post"]["responses"]["503"]["headers"]["Retry-After"]


def test_local_times_are_documented_as_they_are_written(schema):
    pattern = schema["components"]["schemas"]["OpeningHours"]["properties"]["opens"]["pattern"]

    assert re.fullmatch(pattern, "10:00:00") and re.fullmatch(pattern, "23:59:59.500000")
    assert not re.fullmatch(pattern, "10:00:00-07:00") and not re.fullmatch(pattern, "24:00:00")


@pytest.mark.parametrize("query", ["page_size=null", "page_size=0", "page=abc", "page=", "page_size=1.5"])
def test_a_page_or_page_size_that_is_not_a_whole_number_from_1_is_refused(owner_client, query):
    response = owner_client.get(f"/api/v1/stores/?{query}")

    assert response.status_code == 400
    assert set(response.json()) == {query.split("=")[0]}


def test_page_size_over_the_limit_gives_the_limit_and_a_page_past_the_last_is_404(owner_client, merchant):
    StoreFactory(merchant=merchant)

    assert owner_client.get("/api/v1/stores/?page_size=100000").json()["count"] == 1
    assert owner_client.get("/api/v1/stores/?page=2").status_code == 404


def test_an_api_address_no_endpoint_has_is_a_json_404(owner_client):
    response = owner_client.get("/api/v1/orders/1.5/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert "text/html" in owner_client.get("/no-such-page/")["Content-Type"]


def test_text_and_flags_take_only_their_json_type(owner_client):
    response = owner_client.post(
        "/api/v1/webhooks/",
        {"url": "https://shop.example/hooks", "description": 5, "is_active": 1},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"description", "is_active"}
