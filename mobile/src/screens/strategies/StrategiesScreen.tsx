import { useState } from 'react';
import { StyleSheet, View } from 'react-native';

import type { ServerEvent } from '../../api/events';
import { useAuth } from '../../auth/AuthContext';
import { Banner } from '../../components/Banner';
import { Button } from '../../components/Button';
import { LiveIndicator } from '../../components/LiveIndicator';
import { Screen } from '../../components/Screen';
import { EmptyView, ResourceView } from '../../components/StateViews';
import { spacing } from '../../components/theme';
import { useResource } from '../../hooks/useResource';
import { applyToSummaries } from '../../live/applyEvent';
import { useLiveStatus } from '../../live/useLiveStatus';
import { useNavigation } from '../../navigation/Navigator';
import { StrategyRow } from './StrategyRow';

export function StrategiesScreen() {
  const { api, client } = useAuth();
  const navigation = useNavigation();
  const strategies = useResource(api.strategies);
  const [staleSymbols, setStaleSymbols] = useState<string[]>([]);

  const onEvent = (event: ServerEvent) => {
    if (event.type === 'feed.health') {
      setStaleSymbols(event.status === 'degraded' ? event.symbols : []);
      return;
    }
    strategies.setData((current) => current && applyToSummaries(current, event));
  };
  const mode = useLiveStatus({ session: client, onEvent, onPoll: strategies.reload });

  const create = () => navigation.push({ name: 'CreateStrategy' });

  return (
    <Screen
      title="Strategies"
      headerRight={<LiveIndicator mode={mode} />}
      onRefresh={strategies.refresh}
      refreshing={strategies.refreshing}
    >
      <View style={styles.actions}>
        <Button title="New strategy" onPress={create} testID="new-strategy" />
        <View style={styles.row}>
          <View style={styles.flex}>
            <Button
              title="Broker"
              variant="secondary"
              onPress={() => navigation.push({ name: 'Broker' })}
              testID="go-broker"
            />
          </View>
          <View style={styles.flex}>
            <Button
              title="Settings"
              variant="secondary"
              onPress={() => navigation.push({ name: 'Settings' })}
              testID="go-settings"
            />
          </View>
        </View>
      </View>
      {staleSymbols.length > 0 ? (
        <Banner
          tone="warning"
          message={`Market data is delayed for ${staleSymbols.join(', ')}. Prices shown may be stale.`}
        />
      ) : null}
      <ResourceView resource={strategies} loadingLabel="Loading strategies…">
        {(list) =>
          list.length === 0 ? (
            <EmptyView message="No strategies yet. Create one to buy and sell at set times with a stop-loss." />
          ) : (
            list.map((strategy) => (
              <StrategyRow
                key={strategy.id}
                strategy={strategy}
                onPress={() => navigation.push({ name: 'StrategyDetail', strategyId: strategy.id })}
              />
            ))
          )
        }
      </ResourceView>
    </Screen>
  );
}

const styles = StyleSheet.create({
  actions: { gap: spacing.sm, marginBottom: spacing.lg },
  row: { flexDirection: 'row', gap: spacing.sm },
  flex: { flex: 1 },
});
