import { Pressable, StyleSheet, Text, View } from 'react-native';

import { colors, spacing } from './theme';

export interface Segment<T extends string> {
  value: T;
  label: string;
}

interface SegmentedControlProps<T extends string> {
  label: string;
  segments: Segment<T>[];
  value: T;
  onChange(value: T): void;
  error?: string;
  testID: string;
}

export function SegmentedControl<T extends string>({
  label,
  segments,
  value,
  onChange,
  error,
  testID,
}: SegmentedControlProps<T>) {
  return (
    <View style={styles.container}>
      <Text style={styles.label}>{label}</Text>
      <View style={styles.row} accessibilityRole="radiogroup" accessibilityLabel={label}>
        {segments.map((segment) => {
          const selected = segment.value === value;
          return (
            <Pressable
              key={segment.value}
              accessibilityRole="radio"
              accessibilityLabel={segment.label}
              accessibilityState={{ selected, checked: selected }}
              onPress={() => onChange(segment.value)}
              style={[styles.segment, selected && styles.selected]}
              testID={`${testID}-${segment.value}`}
            >
              <Text style={[styles.text, selected && styles.selectedText]}>{segment.label}</Text>
            </Pressable>
          );
        })}
      </View>
      {error ? (
        <Text style={styles.error} testID={`${testID}-error`}>
          {error}
        </Text>
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  container: { marginBottom: spacing.md },
  label: { fontSize: 14, fontWeight: '600', color: colors.text, marginBottom: spacing.xs },
  row: { flexDirection: 'row', flexWrap: 'wrap', gap: spacing.sm },
  segment: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    paddingHorizontal: spacing.md,
    paddingVertical: spacing.sm,
    backgroundColor: colors.surface,
    minHeight: 40,
    justifyContent: 'center',
  },
  selected: { borderColor: colors.primary, backgroundColor: '#e3ecfb' },
  text: { color: colors.text, fontSize: 14 },
  selectedText: { color: colors.primary, fontWeight: '700' },
  error: { color: colors.danger, marginTop: spacing.xs, fontSize: 13 },
});
