/**
 * Web token storage: the short-lived access token is kept in memory only and never written
 * to disk; the refresh token is kept in localStorage so that a page reload resumes the
 * session (the first request after the reload then refreshes the access token).
 */
import type { StoredTokens, TokenStore } from './types';

const REFRESH_KEY = 'algotrader.refresh';

type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export function createTokenStore(storage: KeyValueStorage = window.localStorage): TokenStore {
  let access: string | null = null;
  return {
    async load(): Promise<StoredTokens | null> {
      const refresh = storage.getItem(REFRESH_KEY);
      return refresh ? { access, refresh } : null;
    },
    async save(tokens) {
      access = tokens.access;
      storage.setItem(REFRESH_KEY, tokens.refresh);
    },
    async clear() {
      access = null;
      storage.removeItem(REFRESH_KEY);
    },
  };
}
