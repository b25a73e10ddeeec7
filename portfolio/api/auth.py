"""API tokens: exchange a user name and password for a token (hashed at rest, expiring)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.security import token_ended, token_issued

from . import fields as strict
from .errors import error_body
from .query import CheckedQuery
from .throttling import ClientScopedRateThrottle


class TokenRequestSerializer(serializers.Serializer):
    username = strict.CharField(max_length=150)
    password = strict.CharField(max_length=128, style={"input_type": "password"})


class TokenView(CheckedQuery, APIView):
    """POST a user name and password; get a token to send as ``Authorization: Token <token>``."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()})
        },
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request=request._request, **data.validated_data)
        if user is None or not user.is_active:
            return Response(
                error_body("authentication_failed", "Unknown user name or wrong password."),
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": knox_settings.AUTH_HEADER_PREFIX},
            )
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit is not None and AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).count() >= limit:
            return Response(
                error_body(
                    "token_limit",
                    f"This user already holds {limit} live tokens: end one (POST /api/v1/auth/logout/) or wait "
                    "for one to expire.",
                ),
                status=status.HTTP_403_FORBIDDEN,
            )
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        token_issued(request._request, user)
        return Response({"token": token, "expiry": instance.expiry})


class LogoutView(CheckedQuery, APIView):
    """POST with a token: that token stops working."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        request._auth.delete()
        token_ended(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
