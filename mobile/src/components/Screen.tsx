/** Layout shared by every screen: a header with an optional back button and actions, then scrolling content. */
import type { ReactNode } from 'react';
import { Pressable, RefreshControl, ScrollView, StyleSheet, Text, View } from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';

import { useNavigation } from '../navigation/Navigator';
import { colors, spacing } from './theme';

interface ScreenProps {
  title: string;
  headerRight?: ReactNode;
  /** Enables pull-to-refresh. */
  onRefresh?(): void;
  refreshing?: boolean;
  children: ReactNode;
}

export function Screen({ title, headerRight, onRefresh, refreshing = false, children }: ScreenProps) {
  const navigation = useNavigation();
  return (
    <SafeAreaView style={styles.safeArea}>
      <View style={styles.header}>
        {navigation.canGoBack ? (
          <Pressable
            accessibilityRole="button"
            accessibilityLabel="Back"
            onPress={navigation.goBack}
            style={styles.back}
            testID="back"
          >
            <Text style={styles.backText}>‹ Back</Text>
          </Pressable>
        ) : null}
        <Text accessibilityRole="header" style={styles.title} numberOfLines={1}>
          {title}
        </Text>
        {headerRight ? <View style={styles.right}>{headerRight}</View> : null}
      </View>
      <ScrollView
        contentContainerStyle={styles.content}
        keyboardShouldPersistTaps="handled"
        refreshControl={onRefresh ? <RefreshControl refreshing={refreshing} onRefresh={onRefresh} /> : undefined}
      >
        {children}
      </ScrollView>
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({
  safeArea: { flex: 1, backgroundColor: colors.background },
  header: {
    flexDirection: 'row',
    alignItems: 'center',
    paddingHorizontal: spacing.lg,
    paddingVertical: spacing.md,
    backgroundColor: colors.surface,
    borderBottomWidth: 1,
    borderBottomColor: colors.border,
    gap: spacing.sm,
  },
  back: { minHeight: 44, justifyContent: 'center', paddingRight: spacing.sm },
  backText: { color: colors.primary, fontSize: 16 },
  title: { flex: 1, fontSize: 20, fontWeight: '700', color: colors.text },
  right: { flexDirection: 'row', gap: spacing.sm },
  content: { padding: spacing.lg, width: '100%', maxWidth: 720, alignSelf: 'center' },
});
