from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from merchants.api.permissions import IsMerchant
from merchants.models import ApiKey, Membership
from webhooks import selectors, services
from webhooks.catalogue import EVENTS
from webhooks.models import Delivery, Endpoint

from .serializers import (
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventTypeSerializer,
    RotationSerializer,
)

# An answer holding a secret must not be kept by any cache.
NO_STORE = {"Cache-Control": "no-store"}


class IsOwner(IsMerchant):
    """An API key (owners make them) or a logged-in owner: webhooks carry every order, and their
    secrets sign as the portal, so staff members may not manage them (403)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if isinstance(request.auth, ApiKey):
            return True
        if Membership.objects.filter(user=request.user, role=Membership.Role.OWNER).exists():
            return True
        self.message = "Only the account owner can manage webhooks."
        return False


class EndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your webhook endpoints: URLs of your systems that receive signed events (Standard Webhooks)."""

    serializer_class = EndpointSerializer
    permission_classes = [IsOwner]
    queryset = Endpoint.objects.none()  # for the schema; get_queryset scopes to the caller's merchant
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.endpoints_for_merchant(self.request.merchant)

    @extend_schema(request=EndpointInputSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request):
        """Add an endpoint. The answer holds its `secret`, shown this once: store it to verify signatures."""
        body = EndpointInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():
            endpoint = services.endpoint_create(
                merchant=request.merchant, url=data["url"], events=data["events"], description=data["description"]
            )
            if not data["is_active"]:
                services.endpoint_update(endpoint=endpoint, is_active=False)
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED, headers=NO_STORE)

    @extend_schema(request=EndpointInputSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request, pk):
        """Change the URL, events, description or switch it on or off; switching it on clears why it was off."""
        body = EndpointInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=self.get_object(), **body.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    def destroy(self, request, pk):
        """Remove the endpoint and its delivery history; nothing more is sent to it."""
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: RotationSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk):
        """A new secret, shown this once; the old one keeps signing beside it until `previous_secret_until`."""
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object())
        return Response(RotationSerializer(endpoint).data, headers=NO_STORE)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk):
        """Queue a `webhook.test` event to this endpoint (even when it is switched off); follow it in the
        answer's delivery or in `deliveries/`."""
        delivery = services.endpoint_test(endpoint=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk):
        """What was sent to this endpoint, newest first, each with its attempts (oldest first)."""
        page = self.paginate_queryset(selectors.deliveries_for_endpoint(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(responses={200: EventTypeSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def events(self, request):
        """The event types an endpoint can subscribe to."""
        catalogue = [{"type": name, "description": text} for name, text in EVENTS.items()]
        return Response(EventTypeSerializer(catalogue, many=True).data)


class DeliveryResendView(GenericAPIView):
    """Post a delivery again now, with the same event id (your receiver can de-duplicate on it)."""

    serializer_class = DeliverySerializer
    permission_classes = [IsOwner]
    queryset = Delivery.objects.none()

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request, pk):
        delivery = selectors.delivery_for_merchant(merchant=request.merchant, pk=pk)
        delivery = services.delivery_resend(delivery=delivery)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
