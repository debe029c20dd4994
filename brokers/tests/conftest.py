from collections.abc import Iterator

import pytest

from brokers.simulators.base import Reply, Request, SimulatorApp, SimulatorServer
from brokers.simulators.kite import KiteSimulator


class _CurrentKite(SimulatorApp):
    """Hands each request to the running test's simulator. Stopping a server waits out its
    0.5 s poll interval, so one server lives for the whole session, not one per test."""

    simulator: KiteSimulator

    def dispatch(self, request: Request) -> Reply:
        return self.simulator.dispatch(request)


@pytest.fixture(scope="session")
def _kite_http() -> Iterator[tuple[SimulatorServer, _CurrentKite]]:
    current = _CurrentKite()
    with SimulatorServer(current) as server:
        yield server, current


@pytest.fixture
def kite_simulator() -> KiteSimulator:
    """A fresh Kite market and account per test: orders, tokens and the rate window start empty."""
    return KiteSimulator()


@pytest.fixture
def kite_server(_kite_http: tuple[SimulatorServer, _CurrentKite], kite_simulator: KiteSimulator) -> SimulatorServer:
    """A loopback HTTP server (port 0) answering as this test's `kite_simulator`."""
    server, current = _kite_http
    current.simulator = kite_simulator
    return server
