import pytest


@pytest.fixture
def build(tmp_path, settings):
    (tmp_path / "index.html").write_text("<html>Algotrader app</html>")
    (tmp_path / "_expo" / "static" / "js").mkdir(parents=True)
    (tmp_path / "_expo" / "static" / "js" / "entry-abc.js").write_text("console.log('app')")
    settings.MOBILE_WEB_ROOT = tmp_path
    return tmp_path


def test_it_serves_the_web_build_at_app(client, build):
    response = client.get("/app/")

    assert response.status_code == 200
    assert b"Algotrader app" in b"".join(response.streaming_content)
    assert response["Cache-Control"] == "no-cache"


def test_it_serves_bundles_with_long_caching(client, build):
    response = client.get("/app/_expo/static/js/entry-abc.js")

    assert response.status_code == 200
    assert response["Content-Type"].endswith("javascript")
    assert "immutable" in response["Cache-Control"]


def test_it_answers_app_routes_with_the_index(client, build):
    response = client.get("/app/strategies/123")

    assert b"Algotrader app" in b"".join(response.streaming_content)


def test_it_never_serves_files_outside_the_build(client, build):
    (build.parent / "secret.txt").write_text("top secret")

    response = client.get("/app/../secret.txt")
    encoded = client.get("/app/%2e%2e/secret.txt")

    for answer in (response, encoded):
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        assert b"top secret" not in body


def test_it_says_when_the_app_is_not_built(client, settings, tmp_path):
    settings.MOBILE_WEB_ROOT = tmp_path / "missing"

    response = client.get("/app/")

    assert response.status_code == 404
    assert response.json()["error"] == "APP_NOT_BUILT"
