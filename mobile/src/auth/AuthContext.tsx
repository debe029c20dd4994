/** Session state for the whole app: restores saved tokens, logs in and out. */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';

import { ApiClient } from '../api/client';
import { type Api, createApi } from '../api/endpoints';
import { apiOrigin } from '../config';
import { createTokenStore } from './tokenStore';

export type SessionState = 'restoring' | 'signedOut' | 'signedIn';

export interface Auth {
  state: SessionState;
  client: ApiClient;
  api: Api;
  login(email: string, password: string): Promise<void>;
  register(email: string, password: string): Promise<void>;
  logout(): Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

export function createDefaultClient(): ApiClient {
  return new ApiClient({ origin: apiOrigin(), tokenStore: createTokenStore() });
}

interface AuthProviderProps {
  client: ApiClient;
  children: ReactNode;
}

export function AuthProvider({ client, children }: AuthProviderProps) {
  const [state, setState] = useState<SessionState>('restoring');
  const api = useMemo(() => createApi(client), [client]);

  useEffect(() => {
    let active = true;
    client.onLogout(() => setState('signedOut'));
    client
      .restoreSession()
      .then((resumed) => active && setState(resumed ? 'signedIn' : 'signedOut'))
      .catch(() => active && setState('signedOut'));
    return () => {
      active = false;
      client.onLogout(null);
    };
  }, [client]);

  const login = useCallback(
    async (email: string, password: string) => {
      await client.startSession(await api.login(email, password));
      setState('signedIn');
    },
    [api, client],
  );

  const register = useCallback(
    async (email: string, password: string) => {
      const { access, refresh } = await api.register(email, password);
      await client.startSession({ access, refresh });
      setState('signedIn');
    },
    [api, client],
  );

  const logout = useCallback(async () => {
    await client.endSession();
    setState('signedOut');
  }, [client]);

  const value = useMemo(
    () => ({ state, client, api, login, register, logout }),
    [state, client, api, login, register, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth must be used inside <AuthProvider>');
  return auth;
}
