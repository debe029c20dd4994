/** Pure helpers that fold live events into the state the screens hold. */
import type { OrderUpdateEvent, ServerEvent } from '../api/events';
import type { Id, Order, StrategyStatus, StrategySummary } from '../api/types';

export function applyToSummaries(strategies: StrategySummary[], event: ServerEvent): StrategySummary[] {
  switch (event.type) {
    case 'strategy.status': {
      const { status, position, last_price, pnl } = event;
      return strategies.map((strategy) =>
        strategy.id === event.strategy_id ? { ...strategy, status, position, last_price, pnl } : strategy,
      );
    }
    case 'price':
      return strategies.map((strategy) =>
        strategy.symbol === event.symbol ? { ...strategy, last_price: event.price } : strategy,
      );
    default:
      return strategies;
  }
}

export function applyToStatus(status: StrategyStatus, symbol: string, event: ServerEvent): StrategyStatus {
  if (event.type === 'strategy.status' && event.strategy_id === status.strategy_id) {
    const { status: state, position, last_action, last_price, pnl } = event;
    return { ...status, status: state, position, last_action, last_price, pnl };
  }
  if (event.type === 'price' && event.symbol === symbol) {
    return { ...status, last_price: event.price };
  }
  return status;
}

/** Inserts or replaces the order of an order.update event, when it belongs to this strategy. */
export function applyToOrders(orders: Order[], strategyId: Id, event: OrderUpdateEvent): Order[] {
  if (event.strategy_id !== strategyId) return orders;
  const known = orders.some((order) => order.id === event.order.id);
  return known ? orders.map((order) => (order.id === event.order.id ? event.order : order)) : [...orders, event.order];
}
