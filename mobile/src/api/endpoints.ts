/** One typed function per API operation, bound to a client. */
import type { ApiClient } from './client';
import type {
  BrokerAccount,
  BrokerConnectRequest,
  BrokerConnectResponse,
  Id,
  Instrument,
  KillSwitchResponse,
  Me,
  Order,
  RegisterResponse,
  Strategy,
  StrategyInput,
  StrategyStateResponse,
  StrategyStatus,
  StrategySummary,
  Tokens,
} from './types';

const segment = encodeURIComponent;

export function createApi(client: ApiClient) {
  return {
    register: (email: string, password: string) =>
      client.request<RegisterResponse>('POST', '/auth/register', { body: { email, password }, auth: false }),
    login: (email: string, password: string) =>
      client.request<Tokens>('POST', '/auth/login', { body: { email, password }, auth: false }),
    me: () => client.request<Me>('GET', '/auth/me'),

    brokerAccounts: () => client.request<BrokerAccount[]>('GET', '/broker'),
    connectBroker: (request: BrokerConnectRequest) =>
      client.request<BrokerConnectResponse>('POST', '/broker/connect', { body: request }),
    disconnectBroker: (id: Id) => client.request<void>('DELETE', `/broker/${segment(id)}`),

    searchInstruments: (search: string) =>
      client.request<Instrument[]>('GET', `/instruments?search=${encodeURIComponent(search)}`),

    strategies: () => client.request<StrategySummary[]>('GET', '/strategies'),
    strategy: (id: Id) => client.request<Strategy>('GET', `/strategies/${segment(id)}`),
    createStrategy: (input: StrategyInput) => client.request<Strategy>('POST', '/strategy/create', { body: input }),
    /** Answers with the new state only, not the full status. */
    startStrategy: (id: Id) =>
      client.request<StrategyStateResponse>('POST', '/strategy/start', { body: { strategy_id: id } }),
    /** Answers with the new state only, not the full status. */
    stopStrategy: (id: Id) =>
      client.request<StrategyStateResponse>('POST', '/strategy/stop', { body: { strategy_id: id } }),
    strategyStatus: (id: Id) => client.request<StrategyStatus>('GET', `/strategy/status/${segment(id)}`),
    strategyOrders: (id: Id) => client.request<Order[]>('GET', `/strategies/${segment(id)}/orders`),

    killSwitch: () => client.request<KillSwitchResponse>('POST', '/kill-switch'),
  };
}

export type Api = ReturnType<typeof createApi>;
