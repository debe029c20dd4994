/** Symbol input that searches the instrument list as the user types. */
import { useEffect, useState } from 'react';
import { ActivityIndicator, Pressable, StyleSheet, Text, View } from 'react-native';

import { errorMessage } from '../../api/errors';
import type { Instrument } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { TextField } from '../../components/TextField';
import { colors, spacing } from '../../components/theme';

const SEARCH_DELAY_MS = 300;
const MAX_RESULTS = 8;

interface SymbolSearchProps {
  query: string;
  onQueryChange(query: string): void;
  selected: Instrument | null;
  onSelect(instrument: Instrument): void;
  error?: string;
}

type SearchState =
  | { kind: 'idle' }
  | { kind: 'searching' }
  | { kind: 'done'; results: Instrument[] }
  | { kind: 'failed'; message: string };

export function SymbolSearch({ query, onQueryChange, selected, onSelect, error }: SymbolSearchProps) {
  const { api } = useAuth();
  const [search, setSearch] = useState<SearchState>({ kind: 'idle' });
  const term = query.trim();
  const showResults = term.length > 0 && selected?.symbol !== term.toUpperCase();

  useEffect(() => {
    if (!showResults) {
      setSearch({ kind: 'idle' });
      return undefined;
    }
    let current = true;
    setSearch({ kind: 'searching' });
    const timer = setTimeout(() => {
      api
        .searchInstruments(term)
        .then((results) => current && setSearch({ kind: 'done', results: results.slice(0, MAX_RESULTS) }))
        .catch((caught: unknown) => current && setSearch({ kind: 'failed', message: errorMessage(caught) }));
    }, SEARCH_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, term, showResults]);

  return (
    <View>
      <TextField
        label="Symbol"
        value={query}
        onChangeText={onQueryChange}
        error={error}
        hint={
          selected
            ? `${selected.name} · ${selected.exchange} · lot size ${selected.lot_size}`
            : 'Type to search, e.g. TCS'
        }
        autoCapitalize="characters"
        placeholder="TCS"
        testID="symbol"
      />
      {search.kind === 'searching' ? <ActivityIndicator color={colors.primary} style={styles.spinner} /> : null}
      {search.kind === 'failed' ? <Text style={styles.error}>{search.message}</Text> : null}
      {search.kind === 'done' && search.results.length === 0 ? (
        <Text style={styles.muted}>No instrument matches “{term}”.</Text>
      ) : null}
      {search.kind === 'done' && search.results.length > 0 ? (
        <View style={styles.results} accessibilityRole="list">
          {search.results.map((instrument) => (
            <Pressable
              key={`${instrument.exchange}:${instrument.symbol}`}
              accessibilityRole="button"
              accessibilityLabel={`Choose ${instrument.symbol}, ${instrument.name}, ${instrument.exchange}`}
              onPress={() => onSelect(instrument)}
              style={({ pressed }) => [styles.result, pressed && styles.pressed]}
              testID={`instrument-${instrument.symbol}`}
            >
              <Text style={styles.resultSymbol}>{instrument.symbol}</Text>
              <Text style={styles.muted} numberOfLines={1}>
                {instrument.name} · {instrument.exchange}
              </Text>
            </Pressable>
          ))}
        </View>
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  spinner: { marginBottom: spacing.md },
  results: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    backgroundColor: colors.surface,
    marginTop: -spacing.sm,
    marginBottom: spacing.md,
  },
  result: {
    paddingHorizontal: spacing.md,
    paddingVertical: spacing.sm,
    borderBottomWidth: 1,
    borderBottomColor: colors.border,
  },
  pressed: { backgroundColor: colors.neutralSurface },
  resultSymbol: { fontWeight: '700', color: colors.text },
  muted: { color: colors.muted, fontSize: 13, marginBottom: spacing.sm },
  error: { color: colors.danger, fontSize: 13, marginBottom: spacing.md },
});
