"""Serves the Expo app's web build (`mobile/dist`, made by `expo export --platform web`) at /app/.

Files are served as they are; any other path under /app/ gets index.html so that the app's
own navigation survives a reload.
"""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils._os import safe_join
from django.views.decorators.http import require_GET

from algotrader.api_errors import error_body


@require_GET
def webapp(request: HttpRequest, path: str = "") -> HttpResponse:
    root = Path(settings.MOBILE_WEB_ROOT)
    index = root / "index.html"
    if not index.exists():
        return JsonResponse(
            error_body("APP_NOT_BUILT", "The web app has not been built: install Node.js and run `make run`."),
            status=404,
        )
    try:
        candidate = Path(safe_join(root, path)) if path else index
    except Exception:  # a path that escapes the build folder
        candidate = index
    if not candidate.is_file():
        candidate = index
    content_type, _ = mimetypes.guess_type(candidate.name)
    response = FileResponse(candidate.open("rb"), content_type=content_type or "application/octet-stream")
    # Hashed bundles never change; index.html must always be fetched fresh.
    response["Cache-Control"] = "no-cache" if candidate == index else "public, max-age=31536000, immutable"
    return response
