import { StyleSheet, Text, View } from 'react-native';

import type { BrokerAccount } from '../../api/types';
import { Button } from '../../components/Button';
import { Card, InfoRow } from '../../components/Card';
import { ConfirmButton } from '../../components/ConfirmButton';
import { StatusBadge } from '../../components/StatusBadge';
import { colors, spacing } from '../../components/theme';
import { formatDateTime } from '../../format';
import { BROKER_LABELS } from './brokers';

const STATUS_NOTES: Record<BrokerAccount['status'], string | null> = {
  connected: null,
  expired: 'The broker session has expired (brokers log sessions out daily). Reconnect before the market opens.',
  invalid: 'The broker no longer accepts these credentials. Reconnect with fresh ones.',
};

interface BrokerAccountCardProps {
  account: BrokerAccount;
  onReconnect(): void;
  onDisconnect(): void;
  disconnecting: boolean;
}

export function BrokerAccountCard({ account, onReconnect, onDisconnect, disconnecting }: BrokerAccountCardProps) {
  const label = BROKER_LABELS[account.broker];
  const note = STATUS_NOTES[account.status];
  return (
    <Card testID={`account-${account.id}`}>
      <View style={styles.header}>
        <Text style={styles.name}>{label}</Text>
        <StatusBadge status={account.status} testID={`account-${account.id}-status`} />
      </View>
      {account.client_id ? <InfoRow label="Client ID" value={account.client_id} /> : null}
      {account.api_key_masked ? <InfoRow label="API key" value={account.api_key_masked} /> : null}
      <InfoRow label="Validated" value={formatDateTime(account.validated_at)} />
      {account.token_expires_at ? (
        <InfoRow label="Session expires" value={formatDateTime(account.token_expires_at)} />
      ) : null}
      {note ? <Text style={styles.note}>{note}</Text> : null}
      <View style={styles.actions}>
        {account.status !== 'connected' ? (
          <Button
            title="Reconnect"
            onPress={onReconnect}
            accessibilityLabel={`Reconnect ${label}`}
            testID={`reconnect-${account.id}`}
          />
        ) : null}
        <ConfirmButton
          title="Disconnect"
          question={`Disconnect ${label}? Strategies using it will not be able to trade.`}
          confirmTitle="Disconnect"
          variant="secondary"
          busy={disconnecting}
          onConfirm={onDisconnect}
          testID={`disconnect-${account.id}`}
        />
      </View>
    </Card>
  );
}

const styles = StyleSheet.create({
  header: { flexDirection: 'row', justifyContent: 'space-between', alignItems: 'center' },
  name: { fontSize: 16, fontWeight: '700', color: colors.text },
  note: { color: colors.warning, fontSize: 13, marginTop: spacing.xs },
  actions: { gap: spacing.sm, marginTop: spacing.sm },
});
