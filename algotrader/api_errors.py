"""One error format for the whole API.

    {"error": "<STABLE_CODE>", "message": "<human text>", "fields": {...}}

`fields` appears only for validation errors. Views raise `ApiError` (or a DRF exception)
and never build error responses themselves.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from algotrader.logging import request_id_var

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error with a stable code, raised by views and services that know what went wrong."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.fields = fields


# DRF exception class -> (stable code, message used when DRF's own text is not better).
_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "NOT_AUTHENTICATED"),
    (exceptions.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (exceptions.PermissionDenied, "PERMISSION_DENIED"),
    (exceptions.NotFound, "NOT_FOUND"),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE"),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (exceptions.ParseError, "MALFORMED_REQUEST"),
    (exceptions.Throttled, "THROTTLED"),
]


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body: dict[str, object] = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return body


def _flatten_fields(detail: object) -> dict[str, list[str]]:
    """DRF's nested ValidationError detail as {field: [messages]}; nested keys joined by dots."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), child)
        elif isinstance(node, list) and node and all(isinstance(item, (dict, list)) for item in node):
            for index, child in enumerate(node):
                walk(f"{prefix}.{index}" if prefix else str(index), child)
        elif isinstance(node, list):
            fields.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in node)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(node))

    walk("", detail)
    return fields


def exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, exc.message, exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body("VALIDATION_ERROR", "Some fields are missing or invalid.", _flatten_fields(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        code = next((code for cls, code in _CODES if isinstance(exc, cls)), "BAD_REQUEST")
        detail = exc.detail
        if isinstance(exc, exceptions.AuthenticationFailed) and isinstance(detail, dict):
            code = str(detail.get("code", code)).upper() if "code" in detail else code
            detail = detail.get("detail", detail)
        body = error_body(code, str(detail))
    else:
        # A bug: log it with its traceback and answer in the same format, never with HTML.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(
            error_body("INTERNAL_ERROR", f"Something went wrong on our side (request {request_id_var.get()})."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    response = drf_exception_handler(exc, context)
    if response is None:  # pragma: no cover - DRF handles every APIException
        response = Response(status=exc.status_code)
    response.data = body
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 404 for URLs outside the API's views, in the API's format."""
    return JsonResponse(error_body("NOT_FOUND", "No such endpoint."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("INTERNAL_ERROR", f"Something went wrong on our side (request {request_id_var.get()})."),
        status=500,
    )
