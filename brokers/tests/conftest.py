import socket
from collections.abc import Callable, Iterator

import pytest

from brokers.simulators.base import Fault, Reply, Request, SimulatorApp, SimulatorServer
from brokers.simulators.kite import KiteSimulator

Serve = Callable[[SimulatorApp], SimulatorServer]


class _Current(SimulatorApp):
    """Hands each request to the running test's simulator, so that one loopback server serves
    the whole session while each test gets a fresh simulator."""

    simulator: SimulatorApp

    def dispatch(self, request: Request) -> Reply:
        return self.simulator.dispatch(request)


@pytest.fixture(scope="session")
def _simulator_http() -> Iterator[tuple[SimulatorServer, _Current]]:
    current = _Current()
    with SimulatorServer(current) as server:
        yield server, current


@pytest.fixture
def serve_simulator(_simulator_http: tuple[SimulatorServer, _Current]) -> Serve:
    """`serve_simulator(simulator)`: a loopback HTTP server (port 0) answering as `simulator`
    for the rest of this test."""
    server, current = _simulator_http

    def serve(simulator: SimulatorApp) -> SimulatorServer:
        current.simulator = simulator
        return server

    return serve


@pytest.fixture
def kite_simulator() -> KiteSimulator:
    """A fresh Kite market and account per test: orders, tokens and the rate window start empty."""
    return KiteSimulator()


@pytest.fixture
def kite_server(serve_simulator: Serve, kite_simulator: KiteSimulator) -> SimulatorServer:
    """A loopback HTTP server (port 0) answering as this test's `kite_simulator`."""
    return serve_simulator(kite_simulator)


@pytest.fixture
def url(serve_simulator: Serve, simulator: SimulatorApp) -> str:
    """The root URL of a loopback server answering as the test module's `simulator` fixture."""
    return serve_simulator(simulator).url


@pytest.fixture
def dead_url() -> str:
    """An http:// URL on loopback where nothing listens: connections to it are refused."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}"


SERVER_FAULTS = {
    "500": Fault(status=500),
    "503": Fault(status=503),
    "502-html": Fault(status=502, body="<html>Bad gateway</html>"),
    "429": Fault(status=429),
}


@pytest.fixture(params=SERVER_FAULTS.values(), ids=SERVER_FAULTS.keys())
def server_fault(request: pytest.FixtureRequest) -> Fault:
    """Each way a REST broker fails on the server side or throttles: 5xx JSON, a gateway's
    HTML page, a 429."""
    return request.param
