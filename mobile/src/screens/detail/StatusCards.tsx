/** Read-only cards of the detail screen: live position, next triggers, the stop at the broker, the plan. */
import { StyleSheet, Text } from 'react-native';

import type { Decimal, Order, ProtectiveStop, Strategy, StrategyStatus } from '../../api/types';
import { Card, InfoRow } from '../../components/Card';
import { StatusBadge } from '../../components/StatusBadge';
import { colors, pnlColor } from '../../components/theme';
import { formatDateTime, formatMoney, humanize } from '../../format';
import { BROKER_LABELS } from '../broker/brokers';
import { byRequestTime } from './OrderTimeline';

/** The API's codes for why a position was closed, and for the last order action. */
const EXIT_REASON_LABELS: Record<string, string> = {
  stoploss: 'Stop-loss',
  sell_time: 'Sell time',
  manual: 'Stopped by you',
  error: 'Error',
};
const ACTION_LABELS: Record<string, string> = {
  BUY: 'Buy',
  SELL: 'Sell',
  STOPLOSS: 'Stop-loss exit',
};

function label(labels: Record<string, string>, value: string | null | undefined): string {
  return (value && labels[value]) || humanize(value);
}

export function PositionCard({ status }: { status: StrategyStatus }) {
  return (
    <Card title="Now">
      <InfoRow label="Status" value={humanize(status.status)} testID="status" />
      <InfoRow label="Position" value={humanize(status.position)} testID="position" />
      <InfoRow label="Last action" value={label(ACTION_LABELS, status.last_action)} testID="last-action" />
      <InfoRow label="Last price" value={formatMoney(status.last_price)} testID="last-price" />
      <InfoRow label="P&L" value={formatMoney(status.pnl)} valueColor={pnlColor(status.pnl)} testID="pnl" />
      {status.entry_price ? <InfoRow label="Entry price" value={formatMoney(status.entry_price)} /> : null}
      {status.exit_price ? <InfoRow label="Exit price" value={formatMoney(status.exit_price)} /> : null}
      {status.exit_reason ? (
        <InfoRow label="Exit reason" value={label(EXIT_REASON_LABELS, status.exit_reason)} testID="exit-reason" />
      ) : null}
    </Card>
  );
}

export function NextTriggersCard({ status }: { status: StrategyStatus }) {
  const { buy, sell } = status.next_triggers;
  return (
    <Card title="Next triggers">
      {buy || sell ? (
        <>
          <InfoRow label="Buy" value={formatDateTime(buy)} testID="next-buy" />
          <InfoRow label="Sell" value={formatDateTime(sell)} testID="next-sell" />
        </>
      ) : (
        <Text style={styles.muted}>Nothing scheduled. Start the strategy to schedule it.</Text>
      )}
    </Card>
  );
}

/** The stop the API reports, else the latest PROTECTIVE_STOP order (an SL-M at the stop-loss). */
function protectiveStop(status: StrategyStatus, orders: Order[], stopLoss: Decimal): ProtectiveStop | null {
  if (status.protective_stop !== undefined) return status.protective_stop;
  const latest = orders
    .filter((order) => order.event === 'PROTECTIVE_STOP')
    .sort(byRequestTime)
    .pop();
  return latest ? { status: latest.status, trigger_price: stopLoss, broker_order_id: latest.broker_order_id } : null;
}

interface ProtectiveStopCardProps {
  status: StrategyStatus;
  orders: Order[];
  stopLoss: Decimal;
}

export function ProtectiveStopCard({ status, orders, stopLoss }: ProtectiveStopCardProps) {
  const stop = protectiveStop(status, orders, stopLoss);
  return (
    <Card title="Stop-loss at the broker" testID="protective-stop">
      {stop ? (
        <>
          <StatusBadge status={stop.status} />
          <InfoRow label="Trigger price" value={formatMoney(stop.trigger_price)} />
          <InfoRow label="Broker order" value={stop.broker_order_id ?? '—'} />
        </>
      ) : (
        <Text style={styles.muted}>No stop-loss order is resting at the broker.</Text>
      )}
    </Card>
  );
}

export function PlanCard({ strategy }: { strategy: Strategy }) {
  return (
    <Card title="Plan">
      <InfoRow label="Buy at" value={strategy.buy_time} />
      <InfoRow label="Sell at" value={strategy.sell_time} />
      <InfoRow label="Stop-loss" value={formatMoney(strategy.stop_loss)} />
      <InfoRow label="Quantity" value={String(strategy.quantity)} />
      <InfoRow label="Repeat" value={strategy.recurrence === 'daily' ? 'Every trading day' : 'Once'} />
      <InfoRow label="Broker" value={BROKER_LABELS[strategy.broker]} />
    </Card>
  );
}

const styles = StyleSheet.create({
  muted: { color: colors.muted },
});
