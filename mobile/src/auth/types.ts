import type { Tokens } from '../api/types';

/** The access token may be missing (the web keeps it in memory only); the refresh token may not. */
export interface StoredTokens {
  access: string | null;
  refresh: string;
}

export interface TokenStore {
  load(): Promise<StoredTokens | null>;
  save(tokens: Tokens): Promise<void>;
  clear(): Promise<void>;
}
