/** Loads data for a screen and tracks its loading, refreshing and error states. */
import { type Dispatch, type SetStateAction, useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage } from '../api/errors';

export interface Resource<T> {
  data: T | null;
  /** Human message of the last failed load, or null once a load succeeds. */
  error: string | null;
  /** True while there is nothing to show yet. */
  loading: boolean;
  /** True while a pull-to-refresh load runs. */
  refreshing: boolean;
  /** Loads again in the background, keeping the current data on screen. */
  reload(): void;
  /** Loads again showing the pull-to-refresh spinner. */
  refresh(): void;
  setData: Dispatch<SetStateAction<T | null>>;
}

export function useResource<T>(load: () => Promise<T>): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(0);
  const [refreshing, setRefreshing] = useState(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const mounted = useRef(true);

  const run = useCallback((showSpinner: boolean) => {
    setPending((count) => count + 1);
    if (showSpinner) setRefreshing(true);
    loadRef
      .current()
      .then((result) => {
        if (!mounted.current) return;
        setData(result);
        setError(null);
      })
      .catch((caught: unknown) => mounted.current && setError(errorMessage(caught)))
      .finally(() => {
        if (!mounted.current) return;
        setPending((count) => count - 1);
        if (showSpinner) setRefreshing(false);
      });
  }, []);

  const reload = useCallback(() => run(false), [run]);
  const refresh = useCallback(() => run(true), [run]);

  useEffect(() => {
    mounted.current = true;
    reload();
    return () => {
      mounted.current = false;
    };
  }, [reload]);

  return { data, error, loading: data === null && pending > 0, refreshing, reload, refresh, setData };
}
