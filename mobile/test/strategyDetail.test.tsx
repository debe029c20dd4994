import { act, fireEvent, screen, waitFor, within } from '@testing-library/react-native';

import type { StrategyStatus } from '../src/api/types';
import { apiError, clientFor, fakeServer, ok } from './fakeServer';
import { FakeWebSocket } from './FakeWebSocket';
import { BUY_ORDER, SIGNED_IN, STATUS, STRATEGY } from './fixtures';
import { renderScreen } from './render';

const RUNNING: StrategyStatus = {
  ...STATUS,
  status: 'running',
  position: 'bought',
  last_action: 'BUY',
  entry_price: '3600.00',
  next_triggers: { buy: null, sell: '2026-11-21T09:45:00Z' },
};

async function openDetail(routes: Parameters<typeof fakeServer>[0] = {}) {
  const server = fakeServer({
    'GET /strategies/s-1': ok(STRATEGY),
    'GET /strategy/status/s-1': ok(STATUS),
    'GET /strategies/s-1/orders': ok([]),
    ...routes,
  });
  const { client } = clientFor(server, SIGNED_IN);
  await client.restoreSession();
  renderScreen({ name: 'StrategyDetail', strategyId: 's-1' }, client);
  await screen.findByTestId('status-badge');
  return server;
}

describe('Strategy detail', () => {
  it('shows the position, next triggers, the stop at the broker and the order timeline', async () => {
    await openDetail({
      'GET /strategy/status/s-1': ok(RUNNING),
      'GET /strategies/s-1/orders': ok([
        { ...BUY_ORDER, status: 'complete', average_price: '3600.00' },
        {
          ...BUY_ORDER,
          id: 'o-2',
          event: 'PROTECTIVE_STOP',
          side: 'SELL',
          order_type: 'SL-M',
          status: 'placed',
          broker_order_id: 'PAPER-2',
        },
        {
          ...BUY_ORDER,
          id: 'o-0',
          status: 'rejected',
          requested_at: '2026-11-21T03:59:00Z',
          error: 'Insufficient funds',
        },
      ]),
    });

    expect(screen.getByTestId('position')).toHaveTextContent('Bought');
    expect(screen.getByTestId('next-sell')).not.toHaveTextContent('—');
    // The API sends no protective_stop: the card shows the PROTECTIVE_STOP order, at the stop-loss.
    expect(within(screen.getByTestId('protective-stop')).getByText('PAPER-2')).toBeOnTheScreen();
    expect(within(screen.getByTestId('protective-stop')).getByText('₹3,500.00')).toBeOnTheScreen();
    expect(screen.getByTestId('order-o-1-status')).toHaveTextContent('Complete');
    expect(screen.getByTestId('order-o-2-status')).toHaveTextContent('Placed');
    expect(screen.getByTestId('order-o-0-status')).toHaveTextContent('Rejected');
    expect(screen.getByText('Insufficient funds')).toBeOnTheScreen();
    expect(screen.getByTestId('stop')).toBeOnTheScreen();
  });

  it('starts only after confirmation', async () => {
    // The API answers a start with the new state only; the screen then fetches the rest.
    const server = await openDetail({
      'POST /strategy/start': ok({ strategy_id: 's-1', status: 'running' }),
      'GET /strategy/status/s-1': [
        ok(STATUS),
        ok({ ...STATUS, status: 'running', next_triggers: RUNNING.next_triggers }),
      ],
    });

    fireEvent.press(screen.getByTestId('start'));
    expect(screen.getByText(/Start trading 10 TCS/)).toBeOnTheScreen();
    expect(server.callsTo('POST /strategy/start')).toHaveLength(0);

    fireEvent.press(screen.getByTestId('start-confirm'));

    expect(await screen.findByTestId('stop')).toBeOnTheScreen();
    expect(screen.getByTestId('status-badge')).toHaveTextContent('Running');
    expect(server.callsTo('POST /strategy/start')[0].body).toEqual({ strategy_id: 's-1' });
    await waitFor(() => expect(screen.getByTestId('next-sell')).not.toHaveTextContent('—'));
    expect(screen.getByTestId('status-badge')).toHaveTextContent('Running');
  });

  it('lists orders by time, whether or not their times carry a fraction of a second', async () => {
    await openDetail({
      'GET /strategies/s-1/orders': ok([
        { ...BUY_ORDER, id: 'o-2', event: 'PROTECTIVE_STOP', requested_at: '2026-11-21T12:03:06.035976+05:30' },
        { ...BUY_ORDER, id: 'o-1', event: 'BUY', requested_at: '2026-11-21T12:03:06+05:30' },
      ]),
    });

    const ids = screen.getAllByTestId(/^order-o-\d$/).map((node) => node.props.testID);
    expect(ids).toEqual(['order-o-1', 'order-o-2']);
  });

  it('names a stop-loss exit', async () => {
    await openDetail({
      'GET /strategy/status/s-1': ok({
        ...STATUS,
        status: 'completed',
        position: 'exited',
        last_action: 'STOPLOSS',
        entry_price: '3600.00',
        exit_price: '3490.00',
        exit_reason: 'stoploss',
      }),
    });

    expect(screen.getByTestId('position')).toHaveTextContent('Exited');
    // A completed strategy cannot be started again.
    expect(screen.queryByTestId('start')).toBeNull();
    expect(screen.getByTestId('exit-reason')).toHaveTextContent('Stop-loss');
    expect(screen.getByTestId('last-action')).toHaveTextContent('Stop-loss exit');
  });

  it('can cancel a stop', async () => {
    const server = await openDetail({ 'GET /strategy/status/s-1': ok(RUNNING) });

    fireEvent.press(screen.getByTestId('stop'));
    fireEvent.press(screen.getByTestId('stop-cancel'));

    expect(screen.getByTestId('stop')).toBeOnTheScreen();
    expect(server.callsTo('POST /strategy/stop')).toHaveLength(0);
  });

  it('points to the broker screen when no broker is connected', async () => {
    await openDetail({ 'POST /strategy/start': apiError(409, 'BROKER_NOT_CONNECTED', 'No broker account') });

    fireEvent.press(screen.getByTestId('start'));
    fireEvent.press(screen.getByTestId('start-confirm'));

    expect(await screen.findByTestId('action-error')).toHaveTextContent('Connect your broker account first.');
    fireEvent.press(screen.getByTestId('go-broker'));
    expect(await screen.findByText('Broker accounts')).toBeOnTheScreen();
  });

  it('applies live events, and polls the status when the socket drops', async () => {
    const server = await openDetail({ 'GET /strategy/status/s-1': [ok(STATUS), ok(RUNNING)] });
    const socket = FakeWebSocket.latest();
    expect(socket.url).toBe('ws://api.test/ws/status/?token=access-1');
    expect(screen.getByTestId('live-indicator')).toHaveTextContent('Polling');

    act(() => socket.serverOpen());
    expect(screen.getByTestId('live-indicator')).toHaveTextContent('Live');

    act(() =>
      socket.serverSend({
        type: 'strategy.status',
        strategy_id: 's-1',
        status: 'running',
        position: 'buy_pending',
        last_action: 'BUY',
        last_price: '3610.00',
        pnl: '0.00',
      }),
    );
    expect(screen.getByTestId('position')).toHaveTextContent('Buy pending');
    act(() => socket.serverSend({ type: 'price', symbol: 'TCS', price: '3625.50', ts: 1795243201000 }));
    expect(screen.getByTestId('last-price')).toHaveTextContent('₹3,625.50');
    act(() => socket.serverSend({ type: 'order.update', strategy_id: 's-1', order: BUY_ORDER }));
    expect(screen.getByTestId('order-o-1-status')).toHaveTextContent('Placed');

    const statusCalls = server.callsTo('GET /strategy/status/s-1').length;
    act(() => socket.serverClose(1006));

    expect(screen.getByTestId('live-indicator')).toHaveTextContent('Polling');
    await waitFor(() => expect(server.callsTo('GET /strategy/status/s-1').length).toBeGreaterThan(statusCalls));
  });
});
