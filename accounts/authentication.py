import uuid

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token


class TokenFailure(AuthenticationFailed):
    """An authentication failure that names why: TOKEN_EXPIRED or TOKEN_INVALID."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__({"detail": message, "code": code})


def decode_access_token(raw_token: str | bytes) -> AccessToken:
    """The validated access token, or TokenFailure saying whether it expired or is bad."""
    try:
        return AccessToken(raw_token)
    except ExpiredTokenError:
        raise TokenFailure("TOKEN_EXPIRED", "The access token has expired; refresh it.") from None
    except TokenError:
        raise TokenFailure("TOKEN_INVALID", "The access token is not valid.") from None


class JWTAuthentication(SimpleJWTAuthentication):
    def authenticate(self, request: Request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            raise TokenFailure("TOKEN_INVALID", "The Authorization header must be 'Bearer <token>'.")
        return self.get_user(self.get_validated_token(raw_token)), None

    def get_validated_token(self, raw_token: bytes) -> Token:
        return decode_access_token(raw_token)

    def get_user(self, validated_token: Token):
        try:
            return super().get_user(validated_token)
        except AuthenticationFailed:
            raise TokenFailure("TOKEN_INVALID", "The token's user no longer exists or is inactive.") from None


def bearer_user_id(request: HttpRequest) -> uuid.UUID | None:
    """The user id in the request's access token when the token is valid, else None.

    For views that look the user up themselves, in the same query as what they serve: the
    header and the token are checked as JWTAuthentication checks them, and None means "ask
    JWTAuthentication", which then says why (TOKEN_EXPIRED, TOKEN_INVALID, ...). The caller
    must still check that the user exists and is active."""
    if api_settings.CHECK_REVOKE_TOKEN:
        return None  # the check needs the user's password hash: leave it to JWTAuthentication
    parts = request.META.get(api_settings.AUTH_HEADER_NAME, "").encode().split()
    if len(parts) != 2 or parts[0] not in AUTH_HEADER_TYPE_BYTES:
        return None
    try:
        claim = decode_access_token(parts[1])[api_settings.USER_ID_CLAIM]
        return uuid.UUID(str(claim))
    except (TokenFailure, KeyError, ValueError):
        return None
