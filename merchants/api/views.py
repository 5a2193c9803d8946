from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from merchants.handoff_codes import store_code
from merchants.models import Store
from merchants.selectors import stores_for_merchant

from .serializers import StoreCodeSerializer, StoreSerializer


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    """Your stores, with their site, address, coordinates, weekly hours (site's local time) and radius."""

    serializer_class = StoreSerializer
    queryset = Store.objects.none()  # for the schema; get_queryset scopes to the caller's merchant

    def get_queryset(self):
        return stores_for_merchant(self.request.merchant)

    @extend_schema(
        summary="The store's current store code",
        description=(
            "The 6-digit code a driver types in to prove they stand at this store's counter. A new code "
            "comes every 5 minutes; the current and the previous code are accepted. Never cache it."
        ),
        responses=StoreCodeSerializer,
    )
    @action(detail=True, url_path="handoff-code")
    def handoff_code(self, request, pk=None):
        response = Response(StoreCodeSerializer(store_code(self.get_object())).data)
        response["Cache-Control"] = "no-store"
        return response
