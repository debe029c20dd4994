/** Picks the broker account a new strategy trades through, from the user's connected accounts. */
import { useEffect } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import type { BrokerAccount, BrokerName } from '../../api/types';
import { Button } from '../../components/Button';
import { SegmentedControl } from '../../components/SegmentedControl';
import { ResourceView } from '../../components/StateViews';
import { colors, spacing } from '../../components/theme';
import type { Resource } from '../../hooks/useResource';
import { useNavigation } from '../../navigation/Navigator';
import { BROKER_LABELS } from '../broker/brokers';

interface BrokerPickerProps {
  accounts: Resource<BrokerAccount[]>;
  value: BrokerName | null;
  onChange(broker: BrokerName): void;
  error?: string;
}

export function BrokerPicker({ accounts, value, onChange, error }: BrokerPickerProps) {
  const navigation = useNavigation();
  const connected = (accounts.data ?? []).filter((account) => account.status === 'connected');
  const firstConnected = connected[0]?.broker;

  useEffect(() => {
    if (value === null && firstConnected) onChange(firstConnected);
  }, [value, firstConnected, onChange]);

  return (
    <ResourceView resource={accounts} loadingLabel="Loading broker accounts…">
      {() =>
        connected.length === 0 ? (
          <View style={styles.container}>
            <Text style={styles.error}>
              {error ?? 'No connected broker. Connect one (Paper needs no keys) to create a strategy.'}
            </Text>
            <Button
              title="Connect a broker"
              variant="secondary"
              onPress={() => navigation.push({ name: 'Broker' })}
              testID="go-broker"
            />
          </View>
        ) : (
          <View style={styles.container}>
            <SegmentedControl
              label="Broker"
              segments={connected.map((account) => ({ value: account.broker, label: BROKER_LABELS[account.broker] }))}
              value={value ?? connected[0].broker}
              onChange={onChange}
              error={error}
              testID="broker"
            />
          </View>
        )
      }
    </ResourceView>
  );
}

const styles = StyleSheet.create({
  container: { marginBottom: spacing.md, gap: spacing.sm },
  error: { color: colors.danger, fontSize: 13 },
});
