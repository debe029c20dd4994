/** Form values of Create strategy, their checks before sending, and the request they become. */
import type { FieldErrors } from '../../api/errors';
import type { BrokerName, Instrument, Recurrence, StrategyInput } from '../../api/types';

export interface StrategyForm {
  query: string;
  instrument: Instrument | null;
  buyTime: string;
  sellTime: string;
  stopLoss: string;
  quantity: string;
  recurrence: Recurrence;
  broker: BrokerName | null;
}

export const EMPTY_FORM: StrategyForm = {
  query: '',
  instrument: null,
  buyTime: '09:30:00',
  sellTime: '15:15:00',
  stopLoss: '',
  quantity: '',
  recurrence: 'once',
  broker: null,
};

/** The API field names this form shows errors beside. */
export const STRATEGY_FIELDS = [
  'symbol',
  'exchange',
  'buy_time',
  'sell_time',
  'stop_loss',
  'quantity',
  'recurrence',
  'broker',
];

/** Accepts "9:30", "09:30" or "09:30:00"; returns "HH:MM:SS" or null. */
export function normalizeTime(text: string): string | null {
  const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!match) return null;
  const [hours, minutes, seconds = '00'] = match.slice(1);
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) return null;
  return `${hours.padStart(2, '0')}:${minutes}:${seconds}`;
}

type Checked = { input: StrategyInput; errors: null } | { input: null; errors: FieldErrors };

/** Catches the obvious mistakes locally; the API remains the judge of everything else. */
export function checkForm(form: StrategyForm): Checked {
  const errors: FieldErrors = {};
  const symbol = form.instrument?.symbol ?? form.query.trim().toUpperCase();
  const buyTime = normalizeTime(form.buyTime);
  const sellTime = normalizeTime(form.sellTime);
  const stopLoss = Number(form.stopLoss);
  const quantity = Number(form.quantity);

  if (!symbol) errors.symbol = ['Choose a symbol.'];
  if (!buyTime) errors.buy_time = ['Use HH:MM:SS, e.g. 09:30:00.'];
  if (!sellTime) errors.sell_time = ['Use HH:MM:SS, e.g. 15:15:00.'];
  if (!form.stopLoss.trim() || !Number.isFinite(stopLoss) || stopLoss <= 0)
    errors.stop_loss = ['Enter a price above 0.'];
  if (!Number.isInteger(quantity) || quantity <= 0) errors.quantity = ['Enter a whole number above 0.'];
  if (!form.broker) errors.broker = ['Connect a broker first.'];

  if (Object.keys(errors).length > 0 || !buyTime || !sellTime || !form.broker) return { input: null, errors };
  return {
    errors: null,
    input: {
      symbol,
      exchange: form.instrument?.exchange ?? 'NSE',
      buy_time: buyTime,
      sell_time: sellTime,
      stop_loss: form.stopLoss.trim(),
      quantity,
      recurrence: form.recurrence,
      broker: form.broker,
    },
  };
}
