from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from merchants.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer mpk_...`: the request acts for the key's merchant, with no user."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if len(header) != 2 or header[0] != self.keyword or not header[1].startswith("mpk_"):
            return None
        api_key = api_key_authenticate(header[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked.")
        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        return self.keyword
