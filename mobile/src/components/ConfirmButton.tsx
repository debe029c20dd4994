/** A button that asks "are you sure?" inline before acting (Alert dialogs do not exist on the web). */
import { useState } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import { Button, type ButtonVariant } from './Button';
import { colors, spacing } from './theme';

interface ConfirmButtonProps {
  title: string;
  question: string;
  confirmTitle: string;
  onConfirm(): void;
  variant?: ButtonVariant;
  busy?: boolean;
  testID: string;
}

export function ConfirmButton({
  title,
  question,
  confirmTitle,
  onConfirm,
  variant = 'primary',
  busy,
  testID,
}: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);

  if (!asking) {
    return <Button title={title} variant={variant} busy={busy} onPress={() => setAsking(true)} testID={testID} />;
  }
  return (
    <View style={styles.box} accessibilityRole="alert">
      <Text style={styles.question}>{question}</Text>
      <View style={styles.actions}>
        <Button title="Cancel" variant="secondary" onPress={() => setAsking(false)} testID={`${testID}-cancel`} />
        <Button
          title={confirmTitle}
          variant={variant}
          onPress={() => {
            setAsking(false);
            onConfirm();
          }}
          testID={`${testID}-confirm`}
        />
      </View>
    </View>
  );
}

const styles = StyleSheet.create({
  box: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    padding: spacing.md,
    gap: spacing.md,
    backgroundColor: colors.surface,
  },
  question: { fontSize: 15, color: colors.text },
  actions: { flexDirection: 'row', justifyContent: 'flex-end', gap: spacing.sm },
});
