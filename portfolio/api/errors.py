"""One error format for the whole API.

Every error answers ``{"error": {"code": "...", "message": "...", "fields": {...}}}``: a stable
machine code, a sentence for people, and for validation errors the messages of each field.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portfolio.exceptions import BrokerUnavailableError, PortfolioError, RefreshRefusedError, ScenarioRunRefusedError
from portfolio.security import log_refused

DOMAIN_STATUS = {
    RefreshRefusedError: status.HTTP_409_CONFLICT,
    ScenarioRunRefusedError: status.HTTP_409_CONFLICT,
    BrokerUnavailableError: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def error_body(code: str, message: str, fields: dict | None = None, **extra) -> dict:
    body: dict[str, object] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return {"error": body}


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The request body is larger than {limit:,} bytes."
        return Response(error_body("too_large", message), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, PortfolioError):
        code = DOMAIN_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response(error_body(exc.code, exc.message, **exc.extra), status=code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed | exceptions.PermissionDenied):
        log_refused(context["request"], response.status_code, str(exc.detail))
    if response is None:
        return None  # an unexpected error: a 500, logged, with no detail to the client
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request has invalid values; see the fields.", fields)
    else:
        code = getattr(exc, "default_code", "error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = error_body(code, str(detail))
    return response
