import { StyleSheet, Text, View } from 'react-native';

import type { LiveMode } from '../live/useLiveStatus';
import { colors, spacing } from './theme';

/** Tells the user whether updates arrive live over the socket or by polling every 5 s. */
export function LiveIndicator({ mode }: { mode: LiveMode }) {
  const live = mode === 'live';
  const label = live ? 'Live' : 'Polling';
  return (
    <View
      style={styles.row}
      accessibilityLabel={live ? 'Updates: live' : 'Updates: polling every 5 seconds'}
      testID="live-indicator"
    >
      <View style={[styles.dot, { backgroundColor: live ? colors.success : colors.warning }]} />
      <Text style={styles.text}>{label}</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  row: { flexDirection: 'row', alignItems: 'center', gap: spacing.xs },
  dot: { width: 8, height: 8, borderRadius: 4 },
  text: { fontSize: 13, color: colors.muted, fontWeight: '600' },
});
