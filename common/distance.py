from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_MILES = 3958.8


def miles_between(lat1, lng1, lat2, lng2) -> float:
    """Straight-line (great-circle) distance in miles; what a store's delivery radius is measured in."""
    lat1, lng1, lat2, lng2 = (radians(float(value)) for value in (lat1, lng1, lat2, lng2))
    a = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * asin(sqrt(a))
