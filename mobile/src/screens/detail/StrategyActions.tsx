/** Start / stop with a confirmation step, and what went wrong if the API refused. */
import { useState } from 'react';
import { StyleSheet, View } from 'react-native';

import { ApiError, errorMessage } from '../../api/errors';
import type { Strategy, StrategyStateResponse, StrategyStatus } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { Banner } from '../../components/Banner';
import { Button } from '../../components/Button';
import { ConfirmButton } from '../../components/ConfirmButton';
import { spacing } from '../../components/theme';
import { formatMoney } from '../../format';
import { useNavigation } from '../../navigation/Navigator';

interface StrategyActionsProps {
  strategy: Strategy;
  status: StrategyStatus;
  /** The API answers a start or stop with the new state only. */
  onStatus(state: StrategyStateResponse): void;
}

export function StrategyActions({ strategy, status, onStatus }: StrategyActionsProps) {
  const { api } = useAuth();
  const navigation = useNavigation();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const running = status.status === 'running';
  // The API starts only created or stopped strategies (a completed or failed one answers STRATEGY_STATE).
  const startable = status.status === 'created' || status.status === 'stopped';

  const act = async (action: 'start' | 'stop') => {
    setBusy(true);
    setFailure(null);
    try {
      onStatus(await (action === 'start' ? api.startStrategy(strategy.id) : api.stopStrategy(strategy.id)));
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  const needsBroker = failure instanceof ApiError && failure.code === 'BROKER_NOT_CONNECTED';
  return (
    <View style={styles.container}>
      {failure ? <Banner tone="error" message={errorMessage(failure)} testID="action-error" /> : null}
      {needsBroker ? (
        <Button
          title="Connect broker"
          variant="secondary"
          onPress={() => navigation.push({ name: 'Broker' })}
          testID="go-broker"
        />
      ) : null}
      {running ? (
        <ConfirmButton
          title="Stop strategy"
          question={`Stop the ${strategy.symbol} strategy now?`}
          confirmTitle="Yes, stop"
          variant="danger"
          busy={busy}
          onConfirm={() => act('stop')}
          testID="stop"
        />
      ) : startable ? (
        <ConfirmButton
          title="Start strategy"
          question={`Start trading ${strategy.quantity} ${strategy.symbol}: buy at ${strategy.buy_time}, sell at ${strategy.sell_time}, stop-loss ${formatMoney(strategy.stop_loss)}?`}
          confirmTitle="Yes, start"
          busy={busy}
          onConfirm={() => act('start')}
          testID="start"
        />
      ) : null}
    </View>
  );
}

const styles = StyleSheet.create({
  container: { gap: spacing.sm, marginBottom: spacing.md },
});
