import { Platform } from 'react-native';

const DEVICE_DEFAULT_ORIGIN = 'http://localhost:8000';

/**
 * Origin of the Algotrader server, without a trailing slash.
 * `EXPO_PUBLIC_API_URL` (inlined at build time) wins; otherwise the web build talks to the
 * origin that served it (relative URLs, so it works behind Django at /app/) and a device
 * talks to localhost:8000.
 */
export function apiOrigin(): string {
  const configured = process.env.EXPO_PUBLIC_API_URL;
  if (configured) return configured.replace(/\/+$/, '');
  return Platform.OS === 'web' ? '' : DEVICE_DEFAULT_ORIGIN;
}

/** URL of the live status socket for an origin as returned by apiOrigin(). */
export function statusSocketUrl(origin: string, accessToken: string): string {
  const base = origin ? origin.replace(/^http/, 'ws') : sameOriginSocketBase();
  return `${base}/ws/status/?token=${encodeURIComponent(accessToken)}`;
}

function sameOriginSocketBase(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}`;
}
