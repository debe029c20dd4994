import { StyleSheet, Text, View } from 'react-native';

import { colors, spacing } from './theme';

export type BannerTone = 'error' | 'success' | 'warning';

interface BannerProps {
  tone: BannerTone;
  message: string;
  testID?: string;
}

const toneColors: Record<BannerTone, { background: string; text: string }> = {
  error: { background: colors.dangerSurface, text: colors.danger },
  success: { background: colors.successSurface, text: colors.success },
  warning: { background: colors.warningSurface, text: colors.warning },
};

export function Banner({ tone, message, testID }: BannerProps) {
  const palette = toneColors[tone];
  return (
    <View
      accessibilityRole={tone === 'error' ? 'alert' : 'summary'}
      accessibilityLiveRegion="polite"
      style={[styles.banner, { backgroundColor: palette.background }]}
      testID={testID}
    >
      <Text style={[styles.text, { color: palette.text }]}>{message}</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  banner: { borderRadius: 8, padding: spacing.md, marginBottom: spacing.md },
  text: { fontSize: 14, fontWeight: '500' },
});
