import { StyleSheet, Text, View } from 'react-native';

import { colors, spacing } from './theme';

export type BadgeTone = 'neutral' | 'good' | 'bad' | 'warn' | 'info';

const palette: Record<BadgeTone, { background: string; text: string }> = {
  neutral: { background: colors.neutralSurface, text: colors.muted },
  good: { background: colors.successSurface, text: colors.success },
  bad: { background: colors.dangerSurface, text: colors.danger },
  warn: { background: colors.warningSurface, text: colors.warning },
  info: { background: '#e3ecfb', text: colors.primary },
};

interface BadgeProps {
  label: string;
  tone: BadgeTone;
  testID?: string;
}

export function Badge({ label, tone, testID }: BadgeProps) {
  return (
    <View style={[styles.badge, { backgroundColor: palette[tone].background }]} testID={testID}>
      <Text style={[styles.text, { color: palette[tone].text }]}>{label}</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  badge: { borderRadius: 999, paddingHorizontal: spacing.sm, paddingVertical: 2, alignSelf: 'flex-start' },
  text: { fontSize: 12, fontWeight: '700', textTransform: 'uppercase' },
});
