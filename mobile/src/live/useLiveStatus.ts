/**
 * Live updates from `/ws/status/`, with a polling fallback.
 *
 * While the socket is open the mode is "live" and every server event is handed to onEvent.
 * While it is down (before it first opens, or after it closes) the mode is "polling":
 * onPoll runs every 5 s and the socket is reopened with exponential backoff
 * (1 s, 2 s, 4 s, ... capped at 30 s). A close with code 4401 means the access token was
 * refused: the token is refreshed before reconnecting.
 */
import { useEffect, useRef, useState } from 'react';

import { parseServerEvent, type ServerEvent } from '../api/events';
import { statusSocketUrl } from '../config';

export type LiveMode = 'live' | 'polling';

export const POLL_INTERVAL_MS = 5000;
const BASE_RECONNECT_DELAY_MS = 1000;
const MAX_RECONNECT_DELAY_MS = 30000;
const TOKEN_REFUSED_CLOSE_CODE = 4401;

/** Delay before reconnect attempt number `attempt` (0-based). */
export function reconnectDelay(attempt: number): number {
  return Math.min(BASE_RECONNECT_DELAY_MS * 2 ** attempt, MAX_RECONNECT_DELAY_MS);
}

/** The part of the browser / React Native WebSocket the hook uses. */
export type WebSocketLike = Pick<WebSocket, 'onopen' | 'onmessage' | 'onclose' | 'close'>;

export type WebSocketFactory = (url: string) => WebSocketLike;

/** What the hook needs from the session: satisfied by ApiClient. */
export interface LiveSession {
  origin: string;
  accessToken(): string | null;
  refresh(): Promise<boolean>;
}

export interface LiveStatusOptions {
  session: LiveSession;
  onEvent(event: ServerEvent): void;
  /** Fetches fresh state over REST; also called once after a reconnect to catch up. */
  onPoll(): void;
  createSocket?: WebSocketFactory;
}

const createBrowserSocket: WebSocketFactory = (url) => new WebSocket(url);

export function useLiveStatus({
  session,
  onEvent,
  onPoll,
  createSocket = createBrowserSocket,
}: LiveStatusOptions): LiveMode {
  const [mode, setMode] = useState<LiveMode>('polling');
  const onEventRef = useRef(onEvent);
  const onPollRef = useRef(onPoll);
  onEventRef.current = onEvent;
  onPollRef.current = onPoll;

  useEffect(() => {
    let disposed = false;
    let socket: WebSocketLike | null = null;
    let attempt = 0;
    let hasOpened = false;
    let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
    let pollTimer: ReturnType<typeof setInterval> | null = null;

    const poll = () => onPollRef.current();

    const startPolling = () => {
      pollTimer ??= setInterval(poll, POLL_INTERVAL_MS);
    };

    const stopPolling = () => {
      if (pollTimer) clearInterval(pollTimer);
      pollTimer = null;
    };

    const scheduleReconnect = () => {
      if (disposed) return;
      reconnectTimer = setTimeout(connect, reconnectDelay(attempt));
      attempt += 1;
    };

    const refreshThen = (next: () => void) => {
      session
        .refresh()
        .catch(() => false)
        .then(() => {
          // When the refresh was refused the session has ended and this screen unmounts.
          if (!disposed) next();
        });
    };

    function connect() {
      reconnectTimer = null;
      const token = session.accessToken();
      if (!token) {
        // After a web page reload only the refresh token survives.
        refreshThen(() => (session.accessToken() ? connect() : scheduleReconnect()));
        return;
      }
      let current: WebSocketLike;
      try {
        current = createSocket(statusSocketUrl(session.origin, token));
      } catch {
        // E.g. a SecurityError for ws:// from an https page: stay on polling and retry later.
        scheduleReconnect();
        return;
      }
      socket = current;

      current.onopen = () => {
        if (disposed || socket !== current) return;
        attempt = 0;
        stopPolling();
        setMode('live');
        if (hasOpened) poll();
        hasOpened = true;
      };
      current.onmessage = ({ data }) => {
        const event = parseServerEvent(data);
        if (event && !disposed && socket === current) onEventRef.current(event);
      };
      current.onclose = ({ code }) => {
        if (disposed || socket !== current) return;
        socket = null;
        setMode('polling');
        // A socket that was live may have dropped events: catch up at once, then poll.
        if (!pollTimer) poll();
        startPolling();
        if (code === TOKEN_REFUSED_CLOSE_CODE) refreshThen(scheduleReconnect);
        else scheduleReconnect();
      };
    }

    startPolling();
    connect();

    return () => {
      disposed = true;
      stopPolling();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (socket) {
        socket.onclose = null;
        socket.close(1000);
      }
    };
  }, [session, createSocket]);

  return mode;
}
