"""Registration, login, token refresh and the signed-in user."""

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User
from accounts.serializers import (
    CredentialsSerializer,
    LoginSerializer,
    MeSerializer,
    RefreshSerializer,
    RegisteredSerializer,
    TokenPairSerializer,
)
from accounts.throttles import LoginEmailThrottle, LoginIPThrottle, RegisterIPThrottle
from algotrader.api_errors import ApiError


def _token_pair(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@extend_schema(request=CredentialsSerializer, responses={201: RegisteredSerializer})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([RegisterIPThrottle])
def register(request: Request) -> Response:
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    email, password = serializer.validated_data["email"], serializer.validated_data["password"]
    if User.objects.filter(email=email).exists():
        raise ApiError("EMAIL_TAKEN", "An account with this email already exists.", fields={"email": ["Taken."]})
    try:
        validate_password(password, user=User(email=email))
    except DjangoValidationError as error:
        raise ApiError(
            "VALIDATION_ERROR", "The password is too weak.", fields={"password": list(error.messages)}
        ) from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password)
    except IntegrityError:  # the same email registered a moment ago by a concurrent request
        raise ApiError(
            "EMAIL_TAKEN", "An account with this email already exists.", fields={"email": ["Taken."]}
        ) from None
    return Response({"user_id": str(user.id), **_token_pair(user)}, status=status.HTTP_201_CREATED)


@extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([LoginIPThrottle, LoginEmailThrottle])
def login(request: Request) -> Response:
    serializer = LoginSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        email=serializer.validated_data["email"].strip(),
        password=serializer.validated_data["password"],
    )
    if user is None:
        raise ApiError("INVALID_CREDENTIALS", "Wrong email or password.", status_code=status.HTTP_401_UNAUTHORIZED)
    return Response(_token_pair(user))


@extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def refresh(request: Request) -> Response:
    """Rotates the refresh token: the one sent is blacklisted and a new pair returned.

    Presenting a refresh token that was already rotated means it was copied: every
    outstanding refresh token of that user is revoked, so the copy and the original both
    stop working and the user signs in again.
    """
    serializer = RefreshSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    raw = serializer.validated_data["refresh"]
    try:
        token = RefreshToken(raw)
    except ExpiredTokenError:
        raise ApiError("TOKEN_EXPIRED", "The refresh token has expired; sign in again.", status_code=401) from None
    except TokenError:
        _revoke_family_of_reused(raw)
        raise ApiError("TOKEN_INVALID", "The refresh token is not valid; sign in again.", status_code=401) from None

    user = User.objects.filter(id=token["user_id"], is_active=True).first()
    if user is None:
        raise ApiError("TOKEN_INVALID", "The refresh token is not valid; sign in again.", status_code=401)
    # Blacklisting with a plain INSERT under the table's unique constraint gives one winner
    # when the same token is rotated twice at once; the loser is treated as a reuse.
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token["jti"],
        defaults={"user": user, "token": raw, "expires_at": datetime_from_epoch(token["exp"])},
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        _revoke_family_of_reused(raw)
        raise ApiError("TOKEN_INVALID", "The refresh token is not valid; sign in again.", status_code=401) from None
    return Response(_token_pair(user))


def _revoke_family_of_reused(raw: str) -> None:
    try:
        token = RefreshToken(raw, verify=False)
        jti = token["jti"]
    except (TokenError, KeyError):
        return
    if not BlacklistedToken.objects.filter(token__jti=jti).exists():
        return
    outstanding = OutstandingToken.objects.filter(user_id=token.get("user_id")).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=row) for row in outstanding], ignore_conflicts=True)


@extend_schema(responses={200: MeSerializer})
@api_view(["GET"])
def me(request: Request) -> Response:
    return Response(MeSerializer(request.user).data)
