import { ApiError } from '../src/api/errors';
import { createApi } from '../src/api/endpoints';
import { apiError, clientFor, type FakeRoute, fakeServer, ok } from './fakeServer';

const SIGNED_IN = { access: 'old-access', refresh: 'old-refresh' };
const ROTATED = { access: 'new-access', refresh: 'new-refresh' };
const ME = { user_id: 'u1', email: 'asha@example.com', date_joined: '2026-11-01T04:00:00Z' };
const EXPIRED = apiError(401, 'TOKEN_EXPIRED', 'Token expired');

describe('ApiClient', () => {
  it('sends the access token as a bearer token', async () => {
    const server = fakeServer({ 'GET /auth/me': ok(ME) });
    const { client } = clientFor(server, SIGNED_IN);
    await client.restoreSession();

    await expect(createApi(client).me()).resolves.toEqual(ME);
    expect(server.calls[0].authorization).toBe('Bearer old-access');
  });

  it('refreshes the token once on a 401 and retries the request with the new token', async () => {
    const server = fakeServer({
      'GET /auth/me': (call) => (call.authorization === 'Bearer new-access' ? ok(ME) : EXPIRED),
      'POST /auth/refresh': ok(ROTATED),
    });
    const { client, tokenStore } = clientFor(server, SIGNED_IN);
    await client.restoreSession();

    await expect(createApi(client).me()).resolves.toEqual(ME);

    expect(server.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'GET /auth/me',
      'POST /auth/refresh',
      'GET /auth/me',
    ]);
    expect(server.callsTo('POST /auth/refresh')[0].body).toEqual({ refresh: 'old-refresh' });
    expect(tokenStore.current).toEqual(ROTATED);
  });

  it('shares one refresh between concurrent requests, since refresh tokens rotate', async () => {
    const server = fakeServer({
      'GET /auth/me': (call) => (call.authorization === 'Bearer new-access' ? ok(ME) : EXPIRED),
      'GET /strategies': (call) => (call.authorization === 'Bearer new-access' ? ok([]) : EXPIRED),
      'POST /auth/refresh': ok(ROTATED),
    });
    const { client } = clientFor(server, SIGNED_IN);
    await client.restoreSession();
    const api = createApi(client);

    await Promise.all([api.me(), api.strategies()]);

    expect(server.callsTo('POST /auth/refresh')).toHaveLength(1);
  });

  it('resumes a web session that kept only the refresh token', async () => {
    const server = fakeServer({
      'GET /auth/me': (call) =>
        call.authorization === 'Bearer new-access' ? ok(ME) : apiError(401, 'NOT_AUTHENTICATED', 'No credentials'),
      'POST /auth/refresh': ok(ROTATED),
    });
    const { client } = clientFor(server, { access: null, refresh: 'old-refresh' });
    await client.restoreSession();

    await expect(createApi(client).me()).resolves.toEqual(ME);
    expect(server.calls[0].authorization).toBeUndefined();
  });

  it('logs out when the refresh token is refused', async () => {
    const server = fakeServer({
      'GET /auth/me': EXPIRED,
      'POST /auth/refresh': apiError(401, 'TOKEN_INVALID', 'Token is invalid or expired'),
    });
    const { client, tokenStore } = clientFor(server, SIGNED_IN);
    await client.restoreSession();
    const onLogout = jest.fn();
    client.onLogout(onLogout);

    await expect(createApi(client).me()).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });

    expect(onLogout).toHaveBeenCalledTimes(1);
    expect(tokenStore.current).toBeNull();
    expect(client.accessToken()).toBeNull();
    expect(server.callsTo('GET /auth/me')).toHaveLength(1);
  });

  it('keeps the session when the refresh fails for lack of network', async () => {
    const server = fakeServer({ 'GET /auth/me': EXPIRED });
    const failingFetch: typeof fetch = (input, init) =>
      String(input).endsWith('/auth/refresh')
        ? Promise.reject(new TypeError('Network request failed'))
        : server.fetch(input, init);
    const { client, tokenStore } = clientFor({ ...server, fetch: failingFetch }, SIGNED_IN);
    await client.restoreSession();
    const onLogout = jest.fn();
    client.onLogout(onLogout);

    await expect(createApi(client).me()).rejects.toBeInstanceOf(ApiError);

    expect(onLogout).not.toHaveBeenCalled();
    expect(tokenStore.current).toEqual(SIGNED_IN);
  });

  it('never refreshes for login, whose 401 means wrong credentials', async () => {
    const server = fakeServer({ 'POST /auth/login': apiError(401, 'INVALID_CREDENTIALS', 'Invalid credentials') });
    const { client } = clientFor(server);

    await expect(createApi(client).login('a@b.in', 'nope')).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
      message: 'Wrong email or password.',
    });
    expect(server.calls).toHaveLength(1);
  });
});

describe('error mapping', () => {
  const failWith = async (reply: FakeRoute) => {
    const server = fakeServer({ 'POST /broker/connect': reply });
    const { client } = clientFor(server, SIGNED_IN);
    await client.restoreSession();
    return createApi(client)
      .connectBroker({ broker: 'zerodha' })
      .then(() => {
        throw new Error('expected a failure');
      })
      .catch((error: ApiError) => error);
  };

  it('maps a known code to a human message', async () => {
    const error = await failWith(
      apiError(400, 'BROKER_AUTH_FAILED', 'kiteconnect.exceptions.TokenException: Invalid `api_key`'),
    );
    expect(error.code).toBe('BROKER_AUTH_FAILED');
    expect(error.message).toMatch(/^The broker rejected these credentials/);
    expect(error.message).not.toMatch(/kiteconnect/);
  });

  it("falls back to the API's message for an unknown code", async () => {
    const error = await failWith(apiError(400, 'SOMETHING_NEW', 'Market is closed for Diwali.'));
    expect(error.message).toBe('Market is closed for Diwali.');
  });

  it('keeps the per-field errors', async () => {
    const error = await failWith(
      apiError(400, 'VALIDATION_ERROR', 'Invalid input.', { api_key: ['This field is required.'] }),
    );
    expect(error.fieldError('api_key')).toBe('This field is required.');
    expect(error.fieldError('api_secret')).toBeUndefined();
  });

  it('tells how long to wait when throttled', async () => {
    const error = await failWith({
      ...apiError(429, 'THROTTLED', 'Request was throttled.'),
      headers: { 'Retry-After': '30' },
    });
    expect(error.retryAfterSeconds).toBe(30);
    expect(error.message).toBe('Too many attempts. Try again in 30 s.');
  });

  it('never shows a proxy error page', async () => {
    const error = await failWith({ status: 502, body: '<html><body>Bad Gateway</body></html>' });
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.message).toBe('The server ran into a problem. Please try again shortly.');
  });

  it('reports an unreachable server as a network error', async () => {
    const { client } = clientFor({
      ...fakeServer(),
      fetch: () => Promise.reject(new TypeError('Network request failed')),
    });

    await expect(createApi(client).login('a@b.in', 'pw')).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
      message: expect.stringMatching(/^Cannot reach the Algotrader server/),
    });
  });
});
