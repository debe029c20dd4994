/**
 * Messages the server pushes on the `/ws/status/` WebSocket.
 * Mirrors the backend consumer's payloads; keep the two in step.
 */
import type { Decimal, Id, Order, Position, StrategyState } from './types';

export interface StrategyStatusEvent {
  type: 'strategy.status';
  strategy_id: Id;
  status: StrategyState;
  position: Position;
  last_action: string | null;
  last_price: Decimal | null;
  pnl: Decimal | null;
}

export interface OrderUpdateEvent {
  type: 'order.update';
  strategy_id: Id;
  order: Order;
}

export interface PriceEvent {
  type: 'price';
  symbol: string;
  price: Decimal;
  /** Time of the tick in milliseconds since the epoch. */
  ts: number;
}

export interface FeedHealthEvent {
  type: 'feed.health';
  status: 'ok' | 'degraded';
  symbols: string[];
}

export type ServerEvent = StrategyStatusEvent | OrderUpdateEvent | PriceEvent | FeedHealthEvent;

const EVENT_TYPES: ReadonlySet<string> = new Set(['strategy.status', 'order.update', 'price', 'feed.health']);

/** Parses one socket message; returns null for anything that is not a known event. */
export function parseServerEvent(data: unknown): ServerEvent | null {
  if (typeof data !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && EVENT_TYPES.has((parsed as { type?: string }).type ?? '')) {
      return parsed as ServerEvent;
    }
  } catch {
    // Ignore malformed frames.
  }
  return null;
}
