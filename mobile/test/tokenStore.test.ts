import * as SecureStore from 'expo-secure-store';

import { createTokenStore as createDeviceStore } from '../src/auth/tokenStore';
import { createTokenStore as createWebStore } from '../src/auth/tokenStore.web';

jest.mock('expo-secure-store', () => {
  const items = new Map<string, string>();
  return {
    getItemAsync: jest.fn(async (key: string) => items.get(key) ?? null),
    setItemAsync: jest.fn(async (key: string, value: string) => void items.set(key, value)),
    deleteItemAsync: jest.fn(async (key: string) => void items.delete(key)),
  };
});

const TOKENS = { access: 'access-1', refresh: 'refresh-1' };

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe('web token store', () => {
  it('keeps the access token in memory and only the refresh token in localStorage', async () => {
    const storage = memoryStorage();
    const store = createWebStore(storage);

    await store.save(TOKENS);

    expect(await store.load()).toEqual(TOKENS);
    expect([...storage.items.values()]).toEqual(['refresh-1']);
  });

  it('survives a page reload with the refresh token alone', async () => {
    const storage = memoryStorage();
    await createWebStore(storage).save(TOKENS);

    const afterReload = createWebStore(storage);

    expect(await afterReload.load()).toEqual({ access: null, refresh: 'refresh-1' });
  });

  it('forgets everything on logout', async () => {
    const storage = memoryStorage();
    const store = createWebStore(storage);
    await store.save(TOKENS);

    await store.clear();

    expect(await store.load()).toBeNull();
    expect(storage.items.size).toBe(0);
  });
});

describe('device token store', () => {
  it('keeps both tokens in the secure store', async () => {
    const store = createDeviceStore();

    await store.save(TOKENS);

    expect(await store.load()).toEqual(TOKENS);
    expect(SecureStore.setItemAsync).toHaveBeenCalledWith('algotrader.refresh', 'refresh-1');
    await store.clear();
    expect(await store.load()).toBeNull();
  });
});
