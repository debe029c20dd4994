import { fireEvent, screen } from '@testing-library/react-native';

import { apiError, clientFor, fakeServer, ok } from './fakeServer';
import { PAPER_ACCOUNT, SIGNED_IN, STATUS, STRATEGY } from './fixtures';
import { renderScreen } from './render';

const TCS = { exchange: 'NSE', symbol: 'TCS', name: 'Tata Consultancy Services', tick_size: '0.05', lot_size: 1 };

async function openCreate(routes: Parameters<typeof fakeServer>[0]) {
  const server = fakeServer({ 'GET /broker': ok([PAPER_ACCOUNT]), 'GET /instruments': ok([TCS]), ...routes });
  const { client } = clientFor(server, SIGNED_IN);
  await client.restoreSession();
  renderScreen({ name: 'CreateStrategy' }, client);
  await screen.findByTestId('broker-paper');
  return server;
}

async function fillForm() {
  fireEvent.changeText(screen.getByLabelText('Symbol'), 'TC');
  fireEvent.press(await screen.findByTestId('instrument-TCS'));
  fireEvent.changeText(screen.getByLabelText('Buy time (HH:MM:SS)'), '9:30');
  fireEvent.changeText(screen.getByLabelText('Stop-loss price (₹)'), '3500');
  fireEvent.changeText(screen.getByLabelText('Quantity'), '10');
}

describe('Create strategy', () => {
  it('searches the instrument list and sends a normalised strategy', async () => {
    const server = await openCreate({
      'POST /strategy/create': { status: 201, body: STRATEGY },
      'GET /strategies/s-1': ok(STRATEGY),
      'GET /strategy/status/s-1': ok(STATUS),
      'GET /strategies/s-1/orders': ok([]),
    });

    await fillForm();
    expect(screen.getByText(/Tata Consultancy Services · NSE/)).toBeOnTheScreen();
    fireEvent.press(screen.getByTestId('create'));

    expect(await screen.findByTestId('status-badge')).toBeOnTheScreen();
    expect(server.callsTo('GET /instruments')[0].path).toBe('/instruments?search=TC');
    expect(server.callsTo('POST /strategy/create')[0].body).toEqual({
      symbol: 'TCS',
      exchange: 'NSE',
      buy_time: '09:30:00',
      sell_time: '15:15:00',
      stop_loss: '3500',
      quantity: 10,
      recurrence: 'once',
      broker: 'paper',
    });
  });

  it("shows the API's per-field errors beside the fields", async () => {
    await openCreate({
      'POST /strategy/create': apiError(400, 'STRATEGY_INVALID', 'Invalid strategy.', {
        sell_time: ['Sell time must be after buy time.'],
        stop_loss: ['Stop-loss must be below the last price (3601.50).'],
        quantity: ['Quantity must be a multiple of the lot size (1).'],
        non_field_errors: ['Market is closed on 2026-11-22.'],
      }),
    });

    await fillForm();
    fireEvent.press(screen.getByTestId('create'));

    expect(await screen.findByTestId('sell_time-error')).toHaveTextContent('Sell time must be after buy time.');
    expect(screen.getByTestId('stop_loss-error')).toHaveTextContent(
      'Stop-loss must be below the last price (3601.50).',
    );
    expect(screen.getByTestId('quantity-error')).toHaveTextContent('Quantity must be a multiple of the lot size (1).');
    expect(screen.queryByTestId('buy_time-error')).toBeNull();
    expect(screen.getByTestId('form-error')).toHaveTextContent(
      'This strategy is not valid. Check the highlighted fields. Market is closed on 2026-11-22.',
    );
  });

  it('catches malformed times before calling the API', async () => {
    const server = await openCreate({});

    await fillForm();
    fireEvent.changeText(screen.getByLabelText('Sell time (HH:MM:SS)'), '3.15 pm');
    fireEvent.press(screen.getByTestId('create'));

    expect(await screen.findByTestId('sell_time-error')).toHaveTextContent('Use HH:MM:SS, e.g. 15:15:00.');
    expect(server.callsTo('POST /strategy/create')).toHaveLength(0);
  });

  it('explains an overlap with another strategy', async () => {
    await openCreate({
      'POST /strategy/create': apiError(409, 'STRATEGY_OVERLAP', 'Overlaps strategy 42'),
    });

    await fillForm();
    fireEvent.press(screen.getByTestId('create'));

    expect(await screen.findByTestId('form-error')).toHaveTextContent(
      'You already have a strategy on this symbol at overlapping times.',
    );
  });
});
