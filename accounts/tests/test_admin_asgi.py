"""The admin through the ASGI handler, as uvicorn serves it: sessions, CSRF and messages take
the async paths of algotrader/middleware.py. AsyncClient runs that handler; async_to_sync
keeps the database work on the test's thread and in its transaction."""

import re

from asgiref.sync import async_to_sync
from django.test import AsyncClient

from conftest import PASSWORD


def test_support_staff_sign_in_and_out_of_the_admin(support, alice):
    client = AsyncClient(enforce_csrf_checks=True)
    get, post = async_to_sync(client.get), async_to_sync(client.post)
    form = get("/admin/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content)[1].decode()

    signed_in = post(
        "/admin/login/?next=/admin/",
        {"username": "support@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert (signed_in.status_code, signed_in["Location"]) == (302, "/admin/")
    assert b"alice@example.com" in get("/admin/accounts/user/").content
    logout_token = client.cookies["csrftoken"].value
    assert post("/admin/logout/", {"csrfmiddlewaretoken": logout_token}).status_code == 200
    assert get("/admin/accounts/user/").status_code == 302


def test_a_form_without_the_csrf_token_is_refused(support):
    client = AsyncClient(enforce_csrf_checks=True)

    response = async_to_sync(client.post)("/admin/login/", {"username": "support@example.com", "password": PASSWORD})

    assert response.status_code == 403
