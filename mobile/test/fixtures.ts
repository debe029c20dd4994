import type { BrokerAccount, Order, Strategy, StrategyStatus, StrategySummary } from '../src/api/types';

export const SIGNED_IN = { access: 'access-1', refresh: 'refresh-1' };

export const PAPER_ACCOUNT: BrokerAccount = {
  id: 'b-paper',
  broker: 'paper',
  status: 'connected',
  client_id: null,
  api_key_masked: null,
  validated_at: '2026-11-21T03:00:00Z',
  token_expires_at: null,
};

export const STRATEGY: Strategy = {
  id: 's-1',
  symbol: 'TCS',
  exchange: 'NSE',
  buy_time: '09:30:00',
  sell_time: '15:15:00',
  stop_loss: '3500.00',
  quantity: 10,
  recurrence: 'once',
  broker: 'paper',
  status: 'created',
  created_at: '2026-11-21T03:00:00Z',
  updated_at: '2026-11-21T03:00:00Z',
};

export const SUMMARY: StrategySummary = { ...STRATEGY, position: 'none', last_price: '3601.50', pnl: null };

export const STATUS: StrategyStatus = {
  strategy_id: 's-1',
  status: 'created',
  position: 'none',
  last_action: null,
  last_price: '3601.50',
  pnl: null,
  entry_price: null,
  exit_price: null,
  exit_reason: null,
  next_triggers: { buy: null, sell: null },
};

export const BUY_ORDER: Order = {
  id: 'o-1',
  event: 'BUY',
  side: 'BUY',
  quantity: 10,
  order_type: 'MARKET',
  status: 'placed',
  broker_order_id: 'PAPER-1',
  average_price: null,
  requested_at: '2026-11-21T04:00:00.010Z',
  placed_at: '2026-11-21T04:00:00.050Z',
  latency_ms: 40,
  error: '',
};
