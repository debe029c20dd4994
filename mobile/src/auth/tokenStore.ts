/** Device token storage: both tokens in the platform keychain / keystore via expo-secure-store. */
import * as SecureStore from 'expo-secure-store';

import type { TokenStore } from './types';

const ACCESS_KEY = 'algotrader.access';
const REFRESH_KEY = 'algotrader.refresh';

export function createTokenStore(): TokenStore {
  return {
    async load() {
      const [access, refresh] = await Promise.all([
        SecureStore.getItemAsync(ACCESS_KEY),
        SecureStore.getItemAsync(REFRESH_KEY),
      ]);
      return refresh ? { access, refresh } : null;
    },
    async save({ access, refresh }) {
      await Promise.all([SecureStore.setItemAsync(ACCESS_KEY, access), SecureStore.setItemAsync(REFRESH_KEY, refresh)]);
    },
    async clear() {
      await Promise.all([SecureStore.deleteItemAsync(ACCESS_KEY), SecureStore.deleteItemAsync(REFRESH_KEY)]);
    },
  };
}
