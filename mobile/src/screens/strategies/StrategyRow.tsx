import { StyleSheet, Text, View } from 'react-native';

import type { StrategySummary } from '../../api/types';
import { Card, InfoRow } from '../../components/Card';
import { StatusBadge } from '../../components/StatusBadge';
import { colors, pnlColor } from '../../components/theme';
import { formatMoney, humanize } from '../../format';

interface StrategyRowProps {
  strategy: StrategySummary;
  onPress(): void;
}

export function StrategyRow({ strategy, onPress }: StrategyRowProps) {
  return (
    <Card
      onPress={onPress}
      accessibilityLabel={`${strategy.symbol} strategy, ${strategy.status}. Open details`}
      testID={`strategy-${strategy.id}`}
    >
      <View style={styles.header}>
        <Text style={styles.symbol}>
          {strategy.symbol} <Text style={styles.exchange}>{strategy.exchange}</Text>
        </Text>
        <StatusBadge status={strategy.status} />
      </View>
      <Text style={styles.plan}>
        Buy {strategy.quantity} at {strategy.buy_time}, sell at {strategy.sell_time}, stop-loss{' '}
        {formatMoney(strategy.stop_loss)} · {humanize(strategy.recurrence)}
      </Text>
      <InfoRow label="Position" value={humanize(strategy.position)} />
      <InfoRow label="Last price" value={formatMoney(strategy.last_price)} />
      <InfoRow label="P&L" value={formatMoney(strategy.pnl)} valueColor={pnlColor(strategy.pnl)} />
    </Card>
  );
}

const styles = StyleSheet.create({
  header: { flexDirection: 'row', justifyContent: 'space-between', alignItems: 'center' },
  symbol: { fontSize: 18, fontWeight: '700', color: colors.text },
  exchange: { fontSize: 13, fontWeight: '400', color: colors.muted },
  plan: { color: colors.muted, fontSize: 13, marginBottom: 4 },
});
