import { StyleSheet, Text, TextInput, type TextInputProps, View } from 'react-native';

import { colors, spacing } from './theme';

type PassThroughProps = Pick<
  TextInputProps,
  'autoCapitalize' | 'autoComplete' | 'keyboardType' | 'placeholder' | 'secureTextEntry' | 'onSubmitEditing'
>;

interface TextFieldProps extends PassThroughProps {
  label: string;
  value: string;
  onChangeText(text: string): void;
  /** Shown beside the field, under it, in red. */
  error?: string;
  hint?: string;
  testID?: string;
}

export function TextField({ label, value, onChangeText, error, hint, testID, ...inputProps }: TextFieldProps) {
  return (
    <View style={styles.container}>
      <Text style={styles.label}>{label}</Text>
      <TextInput
        accessibilityLabel={label}
        accessibilityHint={error ?? hint}
        value={value}
        onChangeText={onChangeText}
        testID={testID}
        placeholderTextColor={colors.muted}
        style={[styles.input, error ? styles.inputInvalid : null]}
        {...inputProps}
      />
      {error ? (
        <Text style={styles.error} testID={testID ? `${testID}-error` : undefined} accessibilityLiveRegion="polite">
          {error}
        </Text>
      ) : hint ? (
        <Text style={styles.hint}>{hint}</Text>
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  container: { marginBottom: spacing.md },
  label: { fontSize: 14, fontWeight: '600', color: colors.text, marginBottom: spacing.xs },
  input: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    backgroundColor: colors.surface,
    paddingHorizontal: spacing.md,
    paddingVertical: spacing.sm,
    fontSize: 16,
    minHeight: 44,
    color: colors.text,
  },
  inputInvalid: { borderColor: colors.danger },
  error: { color: colors.danger, marginTop: spacing.xs, fontSize: 13 },
  hint: { color: colors.muted, marginTop: spacing.xs, fontSize: 13 },
});
