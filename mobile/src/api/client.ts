/**
 * HTTP client for `/api/v1`: adds the bearer token, refreshes it once on a 401 and retries,
 * logs the user out when the refresh fails, and turns every failure into an ApiError.
 */
import { ApiError, type ApiErrorBody, NETWORK_ERROR, SERVER_ERROR } from './errors';
import type { Tokens } from './types';
import type { StoredTokens, TokenStore } from '../auth/types';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  body?: unknown;
  /** False for the endpoints that work without a session (login, register, refresh). */
  auth?: boolean;
}

export interface ApiClientOptions {
  /** Server origin such as "http://localhost:8000", or "" for same-origin relative URLs. */
  origin: string;
  tokenStore: TokenStore;
  fetchImpl?: typeof fetch;
}

const API_PREFIX = '/api/v1';

export class ApiClient {
  readonly origin: string;
  private readonly tokenStore: TokenStore;
  private readonly fetchImpl: typeof fetch;
  private tokens: StoredTokens | null = null;
  private refreshing: Promise<boolean> | null = null;
  private logoutListener: (() => void) | null = null;

  constructor({ origin, tokenStore, fetchImpl }: ApiClientOptions) {
    this.origin = origin;
    this.tokenStore = tokenStore;
    this.fetchImpl = fetchImpl ?? ((input, init) => fetch(input, init));
  }

  /** Loads saved tokens; true when there is a session to resume. */
  async restoreSession(): Promise<boolean> {
    this.tokens = await this.tokenStore.load();
    return this.tokens !== null;
  }

  async startSession(tokens: Tokens): Promise<void> {
    this.tokens = tokens;
    await this.tokenStore.save(tokens);
  }

  async endSession(): Promise<void> {
    this.tokens = null;
    await this.tokenStore.clear();
  }

  /** Called after a failed refresh has ended the session. */
  onLogout(listener: (() => void) | null): void {
    this.logoutListener = listener;
  }

  accessToken(): string | null {
    return this.tokens?.access ?? null;
  }

  async request<T>(method: HttpMethod, path: string, { body, auth = true }: RequestOptions = {}): Promise<T> {
    const sentWith = this.accessToken();
    const response = await this.send(method, path, body, auth);
    // If another request refreshed the token meanwhile, retry with it instead of refreshing again.
    if (response.status === 401 && auth && (this.accessToken() !== sentWith || (await this.refresh()))) {
      return this.parse<T>(await this.send(method, path, body, auth));
    }
    return this.parse<T>(response);
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request,
   * because the server rotates refresh tokens and a second exchange would fail.
   * Ends the session when the server refuses the refresh token.
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.exchangeRefreshToken().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async exchangeRefreshToken(): Promise<boolean> {
    const refreshToken = this.tokens?.refresh;
    if (!refreshToken) return false;
    try {
      const tokens = await this.request<Tokens>('POST', '/auth/refresh', {
        body: { refresh: refreshToken },
        auth: false,
      });
      await this.startSession(tokens);
      return true;
    } catch (error) {
      // Only the server refusing the token ends the session; a network failure, a 5xx or a
      // 429 says nothing about the token, so the session is kept for a later retry.
      if (isRefusal(error)) {
        await this.endSession();
        this.logoutListener?.();
      }
      return false;
    }
  }

  private async send(method: HttpMethod, path: string, body: unknown, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const access = this.accessToken();
    if (auth && access) headers.Authorization = `Bearer ${access}`;
    try {
      return await this.fetchImpl(`${this.origin}${API_PREFIX}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError({ code: NETWORK_ERROR, status: 0 });
    }
  }

  private async parse<T>(response: Response): Promise<T> {
    const text = await response.text();
    const json = parseJson(text);
    if (response.ok) return json as T;
    throw toApiError(response, json);
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRefusal(error: unknown): boolean {
  return error instanceof ApiError && [400, 401, 403].includes(error.status);
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as ApiErrorBody).error === 'string';
}

function toApiError(response: Response, json: unknown): ApiError {
  const retryAfter = Number(response.headers.get('Retry-After'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  if (isErrorBody(json)) {
    return new ApiError({
      code: json.error,
      status: response.status,
      apiMessage: json.message,
      fields: json.fields,
      retryAfterSeconds,
    });
  }
  // A proxy's HTML error page or an empty body: no code to show, only the status.
  return new ApiError({
    code: response.status >= 500 ? SERVER_ERROR : `HTTP_${response.status}`,
    status: response.status,
  });
}
