import { StyleSheet, Text, View } from 'react-native';

import type { ServerEvent } from '../../api/events';
import type { Id, Order, StrategyStateResponse, StrategyStatus } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { LiveIndicator } from '../../components/LiveIndicator';
import { Screen } from '../../components/Screen';
import { ResourceView } from '../../components/StateViews';
import { StatusBadge } from '../../components/StatusBadge';
import { colors, spacing } from '../../components/theme';
import { useResource } from '../../hooks/useResource';
import { applyToOrders, applyToStatus } from '../../live/applyEvent';
import { useLiveStatus } from '../../live/useLiveStatus';
import { OrderTimeline } from './OrderTimeline';
import { NextTriggersCard, PlanCard, PositionCard, ProtectiveStopCard } from './StatusCards';
import { StrategyActions } from './StrategyActions';

interface LiveState {
  status: StrategyStatus;
  orders: Order[];
}

export function StrategyDetailScreen({ strategyId }: { strategyId: Id }) {
  const { api, client } = useAuth();
  const strategy = useResource(() => api.strategy(strategyId));
  const live = useResource<LiveState>(async () => {
    const [status, orders] = await Promise.all([api.strategyStatus(strategyId), api.strategyOrders(strategyId)]);
    return { status, orders };
  });
  const symbol = strategy.data?.symbol ?? '';

  const onEvent = (event: ServerEvent) => {
    live.setData((current) => {
      if (!current) return current;
      if (event.type === 'order.update')
        return { ...current, orders: applyToOrders(current.orders, strategyId, event) };
      return { ...current, status: applyToStatus(current.status, symbol, event) };
    });
    // Order updates move the protective stop and next triggers, which events do not carry.
    if (event.type === 'order.update' && event.strategy_id === strategyId) live.reload();
  };
  const mode = useLiveStatus({ session: client, onEvent, onPoll: live.reload });

  // A start or stop answers with the new state only: show it at once, then fetch the rest
  // (position, next triggers) that it changed.
  const onStatus = ({ status: state }: StrategyStateResponse) => {
    live.setData((current) => current && { ...current, status: { ...current.status, status: state } });
    live.reload();
  };

  return (
    <Screen
      title={symbol || 'Strategy'}
      headerRight={<LiveIndicator mode={mode} />}
      onRefresh={live.refresh}
      refreshing={live.refreshing}
    >
      <ResourceView resource={strategy} loadingLabel="Loading strategy…">
        {(plan) => (
          <ResourceView resource={live} loadingLabel="Loading live status…">
            {({ status, orders }) => (
              <>
                <View style={styles.title}>
                  <Text style={styles.symbol}>
                    {plan.symbol} <Text style={styles.exchange}>{plan.exchange}</Text>
                  </Text>
                  <StatusBadge status={status.status} testID="status-badge" />
                </View>
                <StrategyActions strategy={plan} status={status} onStatus={onStatus} />
                <PositionCard status={status} />
                <NextTriggersCard status={status} />
                <ProtectiveStopCard status={status} orders={orders} stopLoss={plan.stop_loss} />
                <OrderTimeline orders={orders} />
                <PlanCard strategy={plan} />
              </>
            )}
          </ResourceView>
        )}
      </ResourceView>
    </Screen>
  );
}

const styles = StyleSheet.create({
  title: { flexDirection: 'row', justifyContent: 'space-between', alignItems: 'center', marginBottom: spacing.md },
  symbol: { fontSize: 22, fontWeight: '700', color: colors.text },
  exchange: { fontSize: 14, fontWeight: '400', color: colors.muted },
});
