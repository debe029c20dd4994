import type { Id } from '../api/types';

export type Route =
  | { name: 'Login' }
  | { name: 'Register' }
  | { name: 'Strategies' }
  | { name: 'CreateStrategy' }
  | { name: 'StrategyDetail'; strategyId: Id }
  | { name: 'Broker' }
  | { name: 'Settings' };
