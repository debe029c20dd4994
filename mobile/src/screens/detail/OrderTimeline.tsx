import { StyleSheet, Text, View } from 'react-native';

import type { Order, OrderEvent } from '../../api/types';
import { Card, InfoRow } from '../../components/Card';
import { StatusBadge } from '../../components/StatusBadge';
import { colors, spacing } from '../../components/theme';
import { formatDateTime, formatMoney } from '../../format';

const EVENT_LABELS: Record<OrderEvent, string> = {
  BUY: 'Buy',
  SELL: 'Sell',
  STOPLOSS: 'Stop-loss exit',
  PROTECTIVE_STOP: 'Protective stop',
};

/** By time, not by text: the API omits the fraction when it is zero ("12:03:06+05:30"). */
export function byRequestTime(a: Order, b: Order): number {
  return Date.parse(a.requested_at) - Date.parse(b.requested_at);
}

export function OrderTimeline({ orders }: { orders: Order[] }) {
  return (
    <Card title="Orders">
      {orders.length === 0 ? (
        <Text style={styles.muted}>No orders yet.</Text>
      ) : (
        [...orders].sort(byRequestTime).map((order) => <OrderItem key={order.id} order={order} />)
      )}
    </Card>
  );
}

function OrderItem({ order }: { order: Order }) {
  return (
    <View style={styles.item} testID={`order-${order.id}`}>
      <View style={styles.header}>
        <View style={styles.heading}>
          <Text style={styles.title}>{EVENT_LABELS[order.event]}</Text>
          <Text style={styles.muted}>
            {order.side} {order.quantity} · {order.order_type}
          </Text>
        </View>
        <StatusBadge status={order.status} testID={`order-${order.id}-status`} />
      </View>
      <InfoRow label="Requested" value={formatDateTime(order.requested_at)} />
      {order.placed_at ? <InfoRow label="Placed" value={formatDateTime(order.placed_at)} /> : null}
      {order.latency_ms !== null ? <InfoRow label="Latency" value={`${order.latency_ms} ms`} /> : null}
      {order.average_price ? <InfoRow label="Average price" value={formatMoney(order.average_price)} /> : null}
      {order.broker_order_id ? <InfoRow label="Broker order" value={order.broker_order_id} /> : null}
      {order.error ? <Text style={styles.error}>{order.error}</Text> : null}
    </View>
  );
}

const styles = StyleSheet.create({
  item: { borderTopWidth: 1, borderTopColor: colors.border, paddingVertical: spacing.sm, gap: 2 },
  header: { flexDirection: 'row', justifyContent: 'space-between', alignItems: 'center', gap: spacing.sm },
  heading: { flexShrink: 1 },
  title: { fontWeight: '600', color: colors.text },
  muted: { color: colors.muted },
  error: { color: colors.danger, fontSize: 13 },
});
