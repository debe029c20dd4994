import { act, renderHook } from '@testing-library/react-native';

import type { ServerEvent } from '../src/api/events';
import { type LiveSession, POLL_INTERVAL_MS, reconnectDelay, useLiveStatus } from '../src/live/useLiveStatus';
import { FakeWebSocket } from './FakeWebSocket';

function fakeSession(initialToken: string | null = 'access-1') {
  let token = initialToken;
  const session: LiveSession & { refresh: jest.Mock } = {
    origin: 'http://api.test',
    accessToken: () => token,
    refresh: jest.fn(async () => {
      token = 'access-2';
      return true;
    }),
  };
  return session;
}

function renderLiveStatus(session: LiveSession = fakeSession()) {
  const onEvent = jest.fn<void, [ServerEvent]>();
  const onPoll = jest.fn();
  const hook = renderHook(() => useLiveStatus({ session, onEvent, onPoll, createSocket: FakeWebSocket.create }));
  return { ...hook, onEvent, onPoll, session };
}

const advance = (ms: number) => act(() => jest.advanceTimersByTime(ms));

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('useLiveStatus', () => {
  it('connects with the access token and goes live when the socket opens', () => {
    const { result, onPoll } = renderLiveStatus();

    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(FakeWebSocket.latest().url).toBe('ws://api.test/ws/status/?token=access-1');
    expect(result.current).toBe('polling');

    act(() => FakeWebSocket.latest().serverOpen());
    expect(result.current).toBe('live');

    advance(3 * POLL_INTERVAL_MS);
    expect(onPoll).not.toHaveBeenCalled();
  });

  it('hands server events to onEvent and ignores malformed frames', () => {
    const { onEvent } = renderLiveStatus();
    const socket = FakeWebSocket.latest();
    act(() => socket.serverOpen());

    const event = { type: 'price', symbol: 'TCS', price: '3521.40', ts: 1795243200000 };
    act(() => socket.serverSend(event));
    act(() => socket.onmessage?.({ data: 'not json' }));
    act(() => socket.serverSend({ type: 'unknown.kind' }));

    expect(onEvent).toHaveBeenCalledTimes(1);
    expect(onEvent).toHaveBeenCalledWith(event);
  });

  it('falls back to polling every 5 s when the socket closes', () => {
    const { result, onPoll } = renderLiveStatus();
    act(() => FakeWebSocket.latest().serverOpen());

    act(() => FakeWebSocket.latest().serverClose(1006));

    expect(result.current).toBe('polling');
    expect(onPoll).toHaveBeenCalledTimes(1); // catch up at once on what the socket may have missed
    advance(POLL_INTERVAL_MS);
    expect(onPoll).toHaveBeenCalledTimes(2);
    advance(POLL_INTERVAL_MS);
    expect(onPoll).toHaveBeenCalledTimes(3);
  });

  it('polls while the socket has not opened yet', () => {
    const { onPoll } = renderLiveStatus();

    advance(POLL_INTERVAL_MS);

    expect(onPoll).toHaveBeenCalledTimes(1);
  });

  it('reconnects with exponential backoff, then stops polling once live again', () => {
    const { result, onPoll } = renderLiveStatus();
    act(() => FakeWebSocket.latest().serverOpen());
    act(() => FakeWebSocket.latest().serverClose());

    // Attempts fail repeatedly: waits of 1 s, 2 s, 4 s between them.
    for (const [attempt, delay] of [1000, 2000, 4000].entries()) {
      expect(reconnectDelay(attempt)).toBe(delay);
      advance(delay - 1);
      expect(FakeWebSocket.instances).toHaveLength(attempt + 1);
      advance(1);
      expect(FakeWebSocket.instances).toHaveLength(attempt + 2);
      if (attempt < 2) act(() => FakeWebSocket.latest().serverClose());
    }

    act(() => FakeWebSocket.latest().serverOpen());
    expect(result.current).toBe('live');
    const pollsWhenLive = onPoll.mock.calls.length;
    advance(4 * POLL_INTERVAL_MS);
    expect(onPoll).toHaveBeenCalledTimes(pollsWhenLive);

    // A successful connection resets the backoff.
    act(() => FakeWebSocket.latest().serverClose());
    advance(1000);
    expect(FakeWebSocket.instances).toHaveLength(5);
  });

  it('caps the backoff at 30 s', () => {
    expect(reconnectDelay(5)).toBe(30000);
    expect(reconnectDelay(12)).toBe(30000);
  });

  it('refreshes the token before reconnecting after a 4401 close', async () => {
    const { session } = renderLiveStatus();
    act(() => FakeWebSocket.latest().serverOpen());

    await act(async () => FakeWebSocket.latest().serverClose(4401));
    expect(session.refresh).toHaveBeenCalledTimes(1);

    advance(reconnectDelay(0));
    expect(FakeWebSocket.latest().url).toBe('ws://api.test/ws/status/?token=access-2');
  });

  it('gets an access token first when only the refresh token survived a reload', async () => {
    const session = fakeSession(null);
    renderLiveStatus(session);
    expect(FakeWebSocket.instances).toHaveLength(0);

    await act(async () => {}); // let the refresh resolve

    expect(session.refresh).toHaveBeenCalledTimes(1);
    expect(FakeWebSocket.latest().url).toContain('token=access-2');
  });

  it('closes the socket and stops all timers on unmount', () => {
    const { unmount, onPoll } = renderLiveStatus();
    const socket = FakeWebSocket.latest();

    unmount();
    advance(60000);

    expect(socket.closedByClient).toBe(true);
    expect(onPoll).not.toHaveBeenCalled();
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});
