from rest_framework import viewsets

from merchants.models import Store
from merchants.selectors import stores_for_merchant

from .serializers import StoreSerializer


class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    """Your stores, with their site, address, coordinates, weekly hours (site's local time) and radius."""

    serializer_class = StoreSerializer
    queryset = Store.objects.none()  # for the schema; get_queryset scopes to the caller's merchant

    def get_queryset(self):
        return stores_for_merchant(self.request.merchant)
