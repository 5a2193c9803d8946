import binascii
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from common.compiled import CompiledRead, columns, instance

User = get_user_model()

# Read by every request of a driver: the tokens under the key's first characters, each with its user.
_tokens = CompiledRead(
    lambda key: AuthToken.objects.filter(token_key=key).values(*columns(AuthToken), *columns(User, "user__")),
    key="sample key",
)


class DriverTokenAuthentication(TokenAuthentication):
    """knox's token authentication (`Bearer mpd_…`) in one compiled read rather than two ORM queries.

    knox also deletes the user's other expired tokens on every request; here an expired token is simply
    refused, and `tokens_expired_delete` (beat, daily) deletes them all at once."""

    def authenticate_credentials(self, token):
        token = token.decode("utf-8")
        now = timezone.now()
        for row in _tokens(key=token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            auth_token = instance(AuthToken, row)
            auth_token.user = instance(User, row, prefix="user__")
            if auth_token.expiry is not None and auth_token.expiry < now:
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed("Invalid token.")


def tokens_expired_delete(*, now=None) -> int:
    """Delete every expired driver token (knox would, one user at a time, on their next request)."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now or timezone.now()).delete()
    return deleted
