/** A scripted stand-in for the API behind fetch: replies by "METHOD /path", records every call. */
import { ApiClient } from '../src/api/client';
import type { Tokens } from '../src/api/types';
import type { StoredTokens, TokenStore } from '../src/auth/types';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Call {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
}

export type FakeRoute = Reply | Reply[] | ((call: Call) => Reply);

export interface FakeServer {
  fetch: typeof fetch;
  calls: Call[];
  /** Adds or replaces a route, e.g. on("POST /auth/login", {status: 200, body: tokens}). */
  on(key: string, route: FakeRoute): void;
  callsTo(key: string): Call[];
}

const API_PREFIX = '/api/v1';

export function ok(body: unknown): Reply {
  return { status: 200, body };
}

export function apiError(status: number, error: string, message: string, fields?: Record<string, string[]>): Reply {
  return { status, body: { error, message, ...(fields ? { fields } : {}) } };
}

export function fakeServer(routes: Record<string, FakeRoute> = {}): FakeServer {
  const table = new Map<string, FakeRoute>(Object.entries(routes));
  const calls: Call[] = [];

  const reply = (key: string, call: Call): Reply => {
    const route = table.get(key);
    if (!route) return apiError(404, 'NOT_FOUND', `No fake route for ${key}`);
    if (typeof route === 'function') return route(call);
    if (Array.isArray(route)) return route.length > 1 ? (route.shift() as Reply) : route[0];
    return route;
  };

  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const path = url.slice(url.indexOf(API_PREFIX) + API_PREFIX.length);
    const method = init?.method ?? 'GET';
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method,
      path,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      authorization: headers.Authorization,
    };
    calls.push(call);
    const { status, body, headers: replyHeaders = {} } = reply(`${method} ${path.split('?')[0]}`, call);
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    return {
      status,
      ok: status >= 200 && status < 300,
      headers: { get: (name: string) => replyHeaders[name] ?? null },
      text: async () => text,
    } as unknown as Response;
  };

  return {
    fetch: fetchImpl as typeof fetch,
    calls,
    on: (key, route) => table.set(key, route),
    callsTo: (key) => calls.filter((call) => `${call.method} ${call.path.split('?')[0]}` === key),
  };
}

export interface MemoryTokenStore extends TokenStore {
  current: StoredTokens | null;
}

export function memoryTokenStore(initial: StoredTokens | null = null): MemoryTokenStore {
  const store: MemoryTokenStore = {
    current: initial,
    load: async () => store.current,
    save: async (tokens: Tokens) => {
      store.current = { ...tokens };
    },
    clear: async () => {
      store.current = null;
    },
  };
  return store;
}

/** A client on a fake server, optionally already signed in. */
export function clientFor(server: FakeServer, tokens: StoredTokens | null = null) {
  const tokenStore = memoryTokenStore(tokens);
  const client = new ApiClient({ origin: 'http://api.test', tokenStore, fetchImpl: server.fetch });
  return { client, tokenStore };
}
