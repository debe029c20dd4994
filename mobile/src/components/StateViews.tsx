/** The loading, empty and error states every data screen shows. */
import type { ReactNode } from 'react';
import { ActivityIndicator, StyleSheet, Text, View } from 'react-native';

import type { Resource } from '../hooks/useResource';
import { Banner } from './Banner';
import { Button } from './Button';
import { colors, spacing } from './theme';

export function LoadingView({ label = 'Loading…' }: { label?: string }) {
  return (
    <View style={styles.center} accessibilityLabel={label} testID="loading">
      <ActivityIndicator color={colors.primary} size="large" />
      <Text style={styles.muted}>{label}</Text>
    </View>
  );
}

interface ErrorViewProps {
  message: string;
  onRetry(): void;
}

export function ErrorView({ message, onRetry }: ErrorViewProps) {
  return (
    <View style={styles.center} accessibilityRole="alert" testID="error-view">
      <Text style={styles.error}>{message}</Text>
      <Button title="Try again" variant="secondary" onPress={onRetry} testID="retry" />
    </View>
  );
}

export function EmptyView({ message }: { message: string }) {
  return (
    <View style={styles.center} testID="empty-view">
      <Text style={styles.muted}>{message}</Text>
    </View>
  );
}

interface ResourceViewProps<T> {
  resource: Resource<T>;
  loadingLabel: string;
  children(data: T): ReactNode;
}

/** Shows loading, then the data; an error screen when nothing loaded, an error banner over stale data. */
export function ResourceView<T>({ resource, loadingLabel, children }: ResourceViewProps<T>) {
  if (resource.data === null) {
    return resource.error && !resource.loading ? (
      <ErrorView message={resource.error} onRetry={resource.reload} />
    ) : (
      <LoadingView label={loadingLabel} />
    );
  }
  return (
    <>
      {resource.error ? <Banner tone="error" message={resource.error} testID="stale-error" /> : null}
      {children(resource.data)}
    </>
  );
}

const styles = StyleSheet.create({
  center: { alignItems: 'center', justifyContent: 'center', padding: spacing.xl, gap: spacing.md },
  muted: { color: colors.muted, fontSize: 15, textAlign: 'center' },
  error: { color: colors.danger, fontSize: 15, textAlign: 'center' },
});
