from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from common.geocoding import GeocodingError, geocode
from common.timezones import validate_timezone


@pytest.mark.parametrize(
    ("zip_code", "city", "zone"),
    [
        ("85226", "Chandler", "America/Phoenix"),
        ("89109", "Las Vegas", "America/Los_Angeles"),
        ("22102", "Mc Lean", "America/New_York"),
    ],
)
def test_the_offline_geocoder_knows_the_pilot_zip_codes(zip_code, city, zone):
    point = geocode(zip_code)

    assert (point.city, point.timezone) == (city, zone)
    assert isinstance(point.latitude, Decimal) and -90 < point.latitude < 90


@pytest.mark.parametrize("bad", ["00000", "8522", "ABCDE", ""])
def test_unknown_zip_codes_get_a_message_for_the_merchant(bad):
    with pytest.raises(GeocodingError, match="We don't know the ZIP code"):
        geocode(bad)


def test_time_zones_must_be_real():
    validate_timezone("America/Phoenix")
    with pytest.raises(ValidationError):
        validate_timezone("America/Tysons")


@pytest.mark.django_db
def test_the_api_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/").content.decode()

    assert schema.status_code == 200 and b"openapi" in schema.content
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "https://" not in docs


@pytest.mark.django_db
def test_health_check(client):
    assert client.get("/healthz").json() == {"status": "ok"}
