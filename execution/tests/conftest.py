# The strategy fixtures (instruments, alice_paper, strategy, ...) are shared with the
# strategies app's tests.
from strategies.tests.conftest import _nse_calendar, alice_paper, bob_paper, instruments, strategy  # noqa: F401
