"""Whatever JSON arrives, the auth endpoints answer in the error format, never with a 500."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"email": json_values | st.emails(), "password": json_values, "refresh": json_values}),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["register", "login", "refresh"]), body=bodies, address=st.ip_addresses(v=4))
def test_it_never_answers_500(api, db, path, body, address):
    # A different address each time, so throttling does not hide the handlers behind 429s.
    response = api.post(f"/api/v1/auth/{path}", body, format="json", REMOTE_ADDR=str(address))

    assert response.status_code < 500
    if response.status_code >= 400:
        assert set(response.json()) <= {"error", "message", "fields"}
        assert response.json()["error"].isupper()
