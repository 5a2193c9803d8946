from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class DriverTokenScheme(KnoxTokenScheme):
    """The drivers' knox tokens in the OpenAPI schema, as drf-spectacular describes knox's own (loaded by
    DeliveriesConfig.ready)."""

    target_class = "deliveries.api.authentication.DriverTokenAuthentication"
