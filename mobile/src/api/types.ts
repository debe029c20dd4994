/** REST payload types for the Algotrader API (`/api/v1`). */

/** Every id is a UUID (DESIGN.md section 5). */
export type Id = string;

/** A decimal sent by the API as a string, e.g. "3500.00". */
export type Decimal = string;

export interface Tokens {
  access: string;
  refresh: string;
}

export interface RegisterResponse extends Tokens {
  user_id: Id;
}

export interface Me {
  user_id: Id;
  email: string;
  date_joined: string;
}

export type BrokerName = 'paper' | 'zerodha' | 'dhan' | 'fyers' | 'angelone';
export type BrokerAccountStatus = 'connected' | 'invalid' | 'expired';

export interface BrokerAccount {
  id: Id;
  broker: BrokerName;
  status: BrokerAccountStatus;
  client_id: string | null;
  api_key_masked: string | null;
  validated_at: string | null;
  token_expires_at: string | null;
}

export interface BrokerConnectRequest {
  broker: BrokerName;
  api_key?: string;
  api_secret?: string;
  access_token?: string;
  request_token?: string;
  client_id?: string;
}

export interface BrokerConnectResponse {
  status: 'connected';
  broker_valid: boolean;
  account: BrokerAccount;
}

export interface Instrument {
  exchange: string;
  symbol: string;
  name: string;
  tick_size: Decimal;
  lot_size: number;
}

export type Recurrence = 'once' | 'daily';
export type StrategyState = 'created' | 'running' | 'stopped' | 'completed' | 'failed';
export type Position = 'none' | 'buy_pending' | 'bought' | 'exit_pending' | 'exited';

export interface StrategyInput {
  symbol: string;
  exchange: string;
  buy_time: string;
  sell_time: string;
  stop_loss: Decimal;
  quantity: number;
  recurrence: Recurrence;
  broker: BrokerName;
}

export interface Strategy extends StrategyInput {
  id: Id;
  status: StrategyState;
  created_at: string;
  updated_at: string;
}

export interface StrategySummary extends Strategy {
  position: Position;
  last_price: Decimal | null;
  pnl: Decimal | null;
}

export interface ProtectiveStop {
  status: OrderStatus;
  trigger_price: Decimal;
  broker_order_id: string | null;
}

/** What `POST strategy/start` and `strategy/stop` answer: only the new state. */
export interface StrategyStateResponse {
  strategy_id: Id;
  status: StrategyState;
}

export interface StrategyStatus {
  strategy_id: Id;
  status: StrategyState;
  position: Position;
  last_action: string | null;
  last_price: Decimal | null;
  pnl: Decimal | null;
  entry_price: Decimal | null;
  exit_price: Decimal | null;
  exit_reason: string | null;
  next_triggers: { buy: string | null; sell: string | null };
  /** Not sent by the API (the app derives it from the PROTECTIVE_STOP orders); kept optional. */
  protective_stop?: ProtectiveStop | null;
}

export type OrderEvent = 'BUY' | 'SELL' | 'STOPLOSS' | 'PROTECTIVE_STOP';
export type OrderStatus = 'pending' | 'placed' | 'complete' | 'rejected' | 'cancelled' | 'failed';

export interface Order {
  id: Id;
  event: OrderEvent;
  side: 'BUY' | 'SELL';
  quantity: number;
  order_type: string;
  status: OrderStatus;
  broker_order_id: string | null;
  average_price: Decimal | null;
  requested_at: string;
  placed_at: string | null;
  latency_ms: number | null;
  /** "" when there is no error. */
  error: string | null;
}

export interface KillSwitchResponse {
  stopped: number;
}
