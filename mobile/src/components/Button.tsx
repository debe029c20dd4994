import { ActivityIndicator, Pressable, StyleSheet, Text } from 'react-native';

import { colors, spacing } from './theme';

export type ButtonVariant = 'primary' | 'secondary' | 'danger';

interface ButtonProps {
  title: string;
  onPress(): void;
  variant?: ButtonVariant;
  busy?: boolean;
  disabled?: boolean;
  /** Defaults to the title. */
  accessibilityLabel?: string;
  testID?: string;
}

export function Button({
  title,
  onPress,
  variant = 'primary',
  busy = false,
  disabled = false,
  accessibilityLabel,
  testID,
}: ButtonProps) {
  const inactive = disabled || busy;
  const filled = variant !== 'secondary';
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={accessibilityLabel ?? title}
      accessibilityState={{ disabled: inactive, busy }}
      disabled={inactive}
      onPress={onPress}
      testID={testID}
      style={({ pressed }) => [
        styles.base,
        filled ? { backgroundColor: variantColor[variant] } : styles.outlined,
        (pressed || inactive) && styles.dimmed,
      ]}
    >
      {busy ? (
        <ActivityIndicator color={filled ? colors.surface : colors.primary} />
      ) : (
        <Text style={[styles.label, { color: filled ? colors.surface : colors.primary }]}>{title}</Text>
      )}
    </Pressable>
  );
}

const variantColor: Record<ButtonVariant, string> = {
  primary: colors.primary,
  secondary: colors.surface,
  danger: colors.danger,
};

const styles = StyleSheet.create({
  base: {
    minHeight: 44,
    borderRadius: 8,
    paddingHorizontal: spacing.lg,
    alignItems: 'center',
    justifyContent: 'center',
  },
  outlined: { borderWidth: 1, borderColor: colors.primary, backgroundColor: colors.surface },
  dimmed: { opacity: 0.6 },
  label: { fontSize: 16, fontWeight: '600' },
});
