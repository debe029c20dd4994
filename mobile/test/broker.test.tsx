import { fireEvent, screen, within } from '@testing-library/react-native';

import type { BrokerAccount } from '../src/api/types';
import { apiError, clientFor, fakeServer, ok } from './fakeServer';
import { PAPER_ACCOUNT, SIGNED_IN } from './fixtures';
import { renderScreen } from './render';

const EXPIRED_ZERODHA: BrokerAccount = {
  id: 'b-kite',
  broker: 'zerodha',
  status: 'expired',
  client_id: 'AB1234',
  api_key_masked: 'kite****9f',
  validated_at: '2026-11-20T03:00:00Z',
  token_expires_at: '2026-11-21T00:30:00Z',
};

async function openBroker(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer(routes);
  const { client } = clientFor(server, SIGNED_IN);
  await client.restoreSession();
  renderScreen({ name: 'Broker' }, client);
  return server;
}

describe('Connect broker', () => {
  it('says clearly that the broker rejected the credentials', async () => {
    const server = await openBroker({
      'GET /broker': ok([]),
      'POST /broker/connect': apiError(400, 'BROKER_AUTH_FAILED', 'TokenException: Invalid checksum'),
    });
    expect(await screen.findByText(/No broker connected yet/)).toBeOnTheScreen();

    fireEvent.press(screen.getByTestId('broker-zerodha'));
    fireEvent.changeText(screen.getByLabelText('API key'), 'kite-key');
    fireEvent.changeText(screen.getByLabelText('API secret'), 'kite-secret');
    fireEvent.changeText(screen.getByLabelText('Request token'), 'req-token');
    fireEvent.press(screen.getByTestId('connect'));

    expect(await screen.findByTestId('connect-error')).toHaveTextContent(/The broker rejected these credentials/);
    expect(screen.queryByText(/TokenException/)).toBeNull();
    expect(server.callsTo('POST /broker/connect')[0].body).toEqual({
      broker: 'zerodha',
      api_key: 'kite-key',
      api_secret: 'kite-secret',
      request_token: 'req-token',
    });
  });

  it('connects the paper broker without keys', async () => {
    const server = await openBroker({
      'GET /broker': [ok([]), ok([PAPER_ACCOUNT])],
      'POST /broker/connect': ok({ status: 'connected', broker_valid: true, account: PAPER_ACCOUNT }),
    });
    await screen.findByText(/No broker connected yet/);

    fireEvent.press(screen.getByTestId('connect'));

    expect(await screen.findByTestId('notice')).toHaveTextContent('Connected to Paper.');
    expect(await screen.findByTestId('account-b-paper')).toBeOnTheScreen();
    expect(server.callsTo('POST /broker/connect')[0].body).toEqual({ broker: 'paper' });
  });

  it('shows an expired account and reconnects it', async () => {
    const server = await openBroker({
      'GET /broker': [ok([EXPIRED_ZERODHA]), ok([{ ...EXPIRED_ZERODHA, status: 'connected' }])],
      'POST /broker/connect': ok({
        status: 'connected',
        broker_valid: true,
        account: { ...EXPIRED_ZERODHA, status: 'connected' },
      }),
    });

    const card = await screen.findByTestId('account-b-kite');
    expect(within(card).getByTestId('account-b-kite-status')).toHaveTextContent('Expired');
    expect(within(card).getByText(/session has expired/)).toBeOnTheScreen();

    fireEvent.press(screen.getByLabelText('Reconnect Zerodha'));
    expect(screen.getByText('Reconnect Zerodha')).toBeOnTheScreen();
    fireEvent.changeText(screen.getAllByLabelText('Access token')[0], 'fresh-token');
    fireEvent.press(screen.getAllByTestId('connect')[0]);

    expect(await screen.findByTestId('notice')).toHaveTextContent('Connected to Zerodha.');
    expect(server.callsTo('POST /broker/connect')[0].body).toEqual({
      broker: 'zerodha',
      access_token: 'fresh-token',
    });
  });

  it('offers a retry when the accounts cannot be loaded', async () => {
    await openBroker({ 'GET /broker': [apiError(503, 'BROKER_UNAVAILABLE', 'down'), ok([PAPER_ACCOUNT])] });

    expect(await screen.findByTestId('error-view')).toHaveTextContent(/The broker is not responding/);
    fireEvent.press(screen.getByTestId('retry'));

    expect(await screen.findByTestId('account-b-paper')).toBeOnTheScreen();
  });
});
