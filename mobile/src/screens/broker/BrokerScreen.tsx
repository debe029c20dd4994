import { useState } from 'react';
import { StyleSheet, Text } from 'react-native';

import { errorMessage } from '../../api/errors';
import type { BrokerAccount, Id } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { Banner } from '../../components/Banner';
import { Card } from '../../components/Card';
import { Screen } from '../../components/Screen';
import { EmptyView, ResourceView } from '../../components/StateViews';
import { colors, spacing } from '../../components/theme';
import { useResource } from '../../hooks/useResource';
import { BrokerAccountCard } from './BrokerAccountCard';
import { BROKER_LABELS } from './brokers';
import { ConnectBrokerForm } from './ConnectBrokerForm';

type Notice = { tone: 'success' | 'error'; message: string };

export function BrokerScreen() {
  const { api } = useAuth();
  const accounts = useResource(api.brokerAccounts);
  const [reconnectingId, setReconnectingId] = useState<Id | null>(null);
  const [disconnectingId, setDisconnectingId] = useState<Id | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);

  const connected = (account: BrokerAccount) => {
    setReconnectingId(null);
    setNotice({ tone: 'success', message: `Connected to ${BROKER_LABELS[account.broker]}.` });
    accounts.reload();
  };

  const disconnect = async (account: BrokerAccount) => {
    setDisconnectingId(account.id);
    try {
      await api.disconnectBroker(account.id);
      setNotice({ tone: 'success', message: `Disconnected ${BROKER_LABELS[account.broker]}.` });
      accounts.reload();
    } catch (error) {
      setNotice({ tone: 'error', message: errorMessage(error) });
    } finally {
      setDisconnectingId(null);
    }
  };

  return (
    <Screen title="Broker accounts" onRefresh={accounts.refresh} refreshing={accounts.refreshing}>
      {notice ? <Banner tone={notice.tone} message={notice.message} testID="notice" /> : null}
      <ResourceView resource={accounts} loadingLabel="Loading broker accounts…">
        {(list) =>
          list.length === 0 ? (
            <EmptyView message="No broker connected yet. Connect one below; Paper needs no keys." />
          ) : (
            list.map((account) => (
              <AccountWithReconnect
                key={account.id}
                account={account}
                reconnecting={reconnectingId === account.id}
                onReconnect={() => setReconnectingId(account.id)}
                onConnected={connected}
                onDisconnect={() => disconnect(account)}
                disconnecting={disconnectingId === account.id}
              />
            ))
          )
        }
      </ResourceView>
      <Text style={styles.section}>Connect a broker</Text>
      <Card>
        <ConnectBrokerForm onConnected={connected} />
      </Card>
    </Screen>
  );
}

interface AccountWithReconnectProps {
  account: BrokerAccount;
  reconnecting: boolean;
  onReconnect(): void;
  onConnected(account: BrokerAccount): void;
  onDisconnect(): void;
  disconnecting: boolean;
}

function AccountWithReconnect({
  account,
  reconnecting,
  onReconnect,
  onConnected,
  onDisconnect,
  disconnecting,
}: AccountWithReconnectProps) {
  return (
    <>
      <BrokerAccountCard
        account={account}
        onReconnect={onReconnect}
        onDisconnect={onDisconnect}
        disconnecting={disconnecting}
      />
      {reconnecting ? (
        <Card>
          <ConnectBrokerForm reconnecting={account} onConnected={onConnected} />
        </Card>
      ) : null}
    </>
  );
}

const styles = StyleSheet.create({
  section: { fontSize: 16, fontWeight: '700', color: colors.text, marginVertical: spacing.sm },
});
