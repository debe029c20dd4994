"""Middleware that runs on the event loop under ASGI instead of hopping to a thread.

Under uvicorn, Django adapts every middleware that is not async-capable with a thread hop,
and Django's own `MiddlewareMixin` classes, although async-capable, run each of their
hooks through `sync_to_async` (a hook *might* block). Nine middleware made a dozen hops per
request, about half the CPU of a status poll (bench/README.md, "Status API at 200
requests/s"). The classes here are the same middleware, marked or adapted so that hooks
that only look at the request and set headers run on the loop; anything that may touch
the database or the disk still goes to a thread.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, common, csrf, security
from whitenoise import middleware as whitenoise


class HooksOnTheLoop:
    """For a `MiddlewareMixin` whose process_request and process_response never block:
    in async mode they are called directly instead of through `sync_to_async`."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class SecurityMiddleware(HooksOnTheLoop, security.SecurityMiddleware):
    """HTTPS redirect and security headers: settings and headers only."""


class CommonMiddleware(HooksOnTheLoop, common.CommonMiddleware):
    """Host and slash redirects, Content-Length: the URL resolver and headers only."""


class CsrfViewMiddleware(HooksOnTheLoop, csrf.CsrfViewMiddleware):
    """Reads and sets the CSRF cookie. Its process_view, which may read a form body, is
    adapted by Django as before."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if settings.CSRF_USE_SESSIONS:  # the secret would be kept in the session: a query
            return await csrf.CsrfViewMiddleware.__acall__(self, request)
        return await super().__acall__(request)


class AuthenticationMiddleware(HooksOnTheLoop, auth.AuthenticationMiddleware):
    """Sets request.user to a lazy object: the session's user is loaded only when used."""


class XFrameOptionsMiddleware(HooksOnTheLoop, clickjacking.XFrameOptionsMiddleware):
    """One header."""


class SessionMiddleware(sessions.SessionMiddleware):
    """The session is loaded lazily; process_response saves it, a query, but only when the
    request accessed it. API requests never do, so they skip the thread hop."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response = await self.get_response(request)
        if request.session.accessed or request.session.modified:
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


class MessageMiddleware(messages.MessageMiddleware):
    """Flash messages live in a cookie or the session; writing them back may save the
    session, but only when the request used or added messages. API requests never do."""

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        response = await self.get_response(request)
        storage = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response)(request, response)
        return self.process_response(request, response)


class WhiteNoiseMiddleware(whitenoise.WhiteNoiseMiddleware):
    """WhiteNoise is sync-only: under ASGI Django ran it, and all middleware before it, on a
    thread. Here a request that is not for a static file costs one dict lookup on the loop."""

    async_capable = True

    def __init__(self, get_response, *args, **kwargs) -> None:
        super().__init__(get_response, *args, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.is_async:
            return self.__acall__(request)  # type: ignore[return-value]
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if self.autorefresh:  # development: looks at the disk
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve)(static_file, request)  # opens the file
        return await self.get_response(request)
