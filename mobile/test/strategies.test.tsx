import { act, fireEvent, screen } from '@testing-library/react-native';

import { apiError, clientFor, fakeServer, ok } from './fakeServer';
import { FakeWebSocket } from './FakeWebSocket';
import { SIGNED_IN, STATUS, STRATEGY, SUMMARY } from './fixtures';
import { renderScreen } from './render';

async function openList(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer(routes);
  const { client } = clientFor(server, SIGNED_IN);
  await client.restoreSession();
  renderScreen({ name: 'Strategies' }, client);
  return server;
}

describe('Strategies list', () => {
  it('shows status, position, last price and P&L, updated live', async () => {
    await openList({ 'GET /strategies': ok([{ ...SUMMARY, status: 'running', position: 'bought', pnl: '-125.00' }]) });

    const row = await screen.findByTestId('strategy-s-1');
    expect(row).toHaveTextContent(/TCS/);
    expect(row).toHaveTextContent(/Running/);
    expect(row).toHaveTextContent(/Bought/);
    expect(row).toHaveTextContent(/₹3,601\.50/);
    expect(row).toHaveTextContent(/-₹125\.00/);

    act(() => FakeWebSocket.latest().serverOpen());
    act(() =>
      FakeWebSocket.latest().serverSend({
        type: 'strategy.status',
        strategy_id: 's-1',
        status: 'completed',
        position: 'exited',
        last_action: 'SELL',
        last_price: '3650.00',
        pnl: '490.00',
      }),
    );

    expect(screen.getByTestId('strategy-s-1')).toHaveTextContent(/Exited/);
    expect(screen.getByTestId('strategy-s-1')).toHaveTextContent(/₹490\.00/);
    expect(screen.getByTestId('live-indicator')).toHaveTextContent('Live');
  });

  it('warns when the market data feed is degraded', async () => {
    await openList({ 'GET /strategies': ok([SUMMARY]) });
    await screen.findByTestId('strategy-s-1');

    act(() => FakeWebSocket.latest().serverOpen());
    act(() => FakeWebSocket.latest().serverSend({ type: 'feed.health', status: 'degraded', symbols: ['TCS'] }));

    expect(screen.getByText(/Market data is delayed for TCS/)).toBeOnTheScreen();
  });

  it('opens a strategy', async () => {
    await openList({
      'GET /strategies': ok([SUMMARY]),
      'GET /strategies/s-1': ok(STRATEGY),
      'GET /strategy/status/s-1': ok(STATUS),
      'GET /strategies/s-1/orders': ok([]),
    });

    fireEvent.press(await screen.findByTestId('strategy-s-1'));

    expect(await screen.findByTestId('status-badge')).toBeOnTheScreen();
    fireEvent.press(screen.getByTestId('back'));
    expect(await screen.findByTestId('strategy-s-1')).toBeOnTheScreen();
  });

  it('shows an empty state and an error state', async () => {
    await openList({ 'GET /strategies': [apiError(500, 'SERVER_ERROR', 'boom'), ok([])] });

    expect(await screen.findByTestId('error-view')).toHaveTextContent(/The server ran into a problem/);
    fireEvent.press(screen.getByTestId('retry'));
    expect(await screen.findByText(/No strategies yet/)).toBeOnTheScreen();
  });
});

describe('Settings', () => {
  it('runs the kill switch only after confirmation', async () => {
    const server = await openList({
      'GET /auth/me': ok({ user_id: 'u1', email: 'a@b.in', date_joined: '2026-11-01T00:00:00Z' }),
    });
    server.on('GET /strategies', ok([]));
    server.on('POST /kill-switch', ok({ stopped: 3 }));

    fireEvent.press(await screen.findByTestId('go-settings'));
    fireEvent.press(await screen.findByTestId('kill-switch'));
    expect(server.callsTo('POST /kill-switch')).toHaveLength(0);
    fireEvent.press(screen.getByTestId('kill-switch-confirm'));

    expect(await screen.findByTestId('kill-notice')).toHaveTextContent('Kill switch done: 3 strategies stopped.');
    expect(server.callsTo('POST /kill-switch')).toHaveLength(1);
  });
});
