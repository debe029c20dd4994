import time_machine
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from conftest import PASSWORD, client_for

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


def register(api: APIClient, email: str = "carol@example.com", password: str = PASSWORD):
    return api.post(REGISTER, {"email": email, "password": password}, format="json")


def test_it_registers_and_returns_working_tokens(api, db):
    response = register(api)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user_id", "access", "refresh"}
    user = User.objects.get(email="carol@example.com")
    assert body["user_id"] == str(user.id)
    assert user.password.startswith("argon2")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.get(ME).json() == {
        "user_id": str(user.id),
        "email": "carol@example.com",
        "is_staff": False,
        "date_joined": user.date_joined.astimezone(timezone.get_current_timezone()).isoformat(),
    }


def test_it_refuses_a_duplicate_email_whatever_its_case(api, alice):
    response = register(api, email="Alice@Example.com")

    assert response.status_code == 400
    assert response.json()["error"] == "EMAIL_TAKEN"
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_it_refuses_a_weak_password_with_the_reasons(api, db):
    response = register(api, password="12345678")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "VALIDATION_ERROR"
    assert any("common" in message for message in body["fields"]["password"])
    assert any("numeric" in message for message in body["fields"]["password"])
    assert not User.objects.exists()


def test_it_names_every_invalid_field(api, db):
    response = api.post(REGISTER, {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "VALIDATION_ERROR"
    assert set(body["fields"]) == {"email", "password"}
    assert body["message"]


def test_it_answers_malformed_json_in_the_error_format(api, db):
    response = api.post(REGISTER, data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "MALFORMED_REQUEST"


def test_it_refuses_form_bodies(api, db):
    response = api.post(REGISTER, {"email": "x@example.com", "password": PASSWORD})

    assert response.status_code == 415
    assert response.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"


def test_it_logs_in_with_the_right_password_in_any_email_case(api, alice):
    response = api.post(LOGIN, {"email": "ALICE@example.com ", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_it_refuses_a_wrong_password_and_an_unknown_email_alike(api, alice):
    wrong = api.post(LOGIN, {"email": "alice@example.com", "password": "nope"}, format="json")
    unknown = api.post(LOGIN, {"email": "nobody@example.com", "password": PASSWORD}, format="json")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "INVALID_CREDENTIALS", "message": "Wrong email or password."}


def test_it_refuses_an_inactive_user(api, alice):
    alice.is_active = False
    alice.save()

    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 401


def test_it_throttles_logins_per_email(api, alice):
    for _ in range(5):
        assert api.post(LOGIN, {"email": "alice@example.com", "password": "nope"}, format="json").status_code == 401

    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["error"] == "THROTTLED"
    assert 0 < int(response["Retry-After"]) <= 60
    # Another account from the same address is not locked out by alice's attempts.
    other = api.post(LOGIN, {"email": "bob@example.com", "password": "nope"}, format="json")
    assert other.status_code == 401


def test_it_throttles_logins_per_address(api, db):
    for number in range(30):
        api.post(LOGIN, {"email": f"guess{number}@example.com", "password": "nope"}, format="json")

    response = api.post(LOGIN, {"email": "fresh@example.com", "password": "nope"}, format="json")

    assert response.status_code == 429
    assert "Retry-After" in response
    from_elsewhere = api.post(
        LOGIN, {"email": "fresh@example.com", "password": "nope"}, format="json", REMOTE_ADDR="10.1.2.3"
    )
    assert from_elsewhere.status_code == 401


def test_it_requires_a_token(api, db):
    response = api.get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == "NOT_AUTHENTICATED"


def test_it_refuses_an_expired_access_token(alice):
    client = client_for(alice)

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=16)):
        response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_EXPIRED"


def test_it_accepts_an_access_token_until_fifteen_minutes(alice):
    client = client_for(alice)

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=14)):
        assert client.get(ME).status_code == 200


def test_it_refuses_a_tampered_token(alice, bob):
    access = str(RefreshToken.for_user(alice).access_token)
    header, payload, signature = access.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_INVALID"


def test_it_refuses_a_refresh_token_used_as_an_access_token(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(alice)}")

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_INVALID"


def test_it_rotates_refresh_tokens(api, alice):
    first = str(RefreshToken.for_user(alice))

    response = api.post(REFRESH, {"refresh": first}, format="json")

    assert response.status_code == 200
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    assert pair["refresh"] != first
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get(ME).status_code == 200


def test_it_refuses_a_rotated_refresh_token_and_revokes_its_successor(api, alice):
    first = str(RefreshToken.for_user(alice))
    second = api.post(REFRESH, {"refresh": first}, format="json").json()["refresh"]

    reuse = api.post(REFRESH, {"refresh": first}, format="json")

    assert reuse.status_code == 401
    assert reuse.json()["error"] == "TOKEN_INVALID"
    # The copy was presented, so the legitimate successor is revoked too.
    assert api.post(REFRESH, {"refresh": second}, format="json").status_code == 401


def test_it_refuses_an_expired_refresh_token(api, alice):
    token = str(RefreshToken.for_user(alice))

    with time_machine.travel(timezone.now() + timezone.timedelta(days=8)):
        response = api.post(REFRESH, {"refresh": token}, format="json")

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_EXPIRED"


def test_it_refuses_garbage_as_a_refresh_token(api, db):
    response = api.post(REFRESH, {"refresh": "garbage"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_INVALID"
