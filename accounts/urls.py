from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/register", api.register, name="auth-register"),
    path("auth/login", api.login, name="auth-login"),
    path("auth/refresh", api.refresh, name="auth-refresh"),
    path("auth/me", api.me, name="auth-me"),
]
