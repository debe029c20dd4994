import { useState } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import type { BrokerAccount, BrokerConnectRequest, BrokerName } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { Banner } from '../../components/Banner';
import { Button } from '../../components/Button';
import { SegmentedControl } from '../../components/SegmentedControl';
import { TextField } from '../../components/TextField';
import { colors, spacing } from '../../components/theme';
import { useSubmit } from '../../hooks/useSubmit';
import {
  BROKER_FIELDS,
  BROKER_HINTS,
  BROKER_LABELS,
  BROKER_SEGMENTS,
  type CredentialField,
  FIELD_LABELS,
  SECRET_FIELDS,
} from './brokers';

const ALL_FIELDS = ['broker', ...Object.keys(FIELD_LABELS)];

interface ConnectBrokerFormProps {
  /** Set when reconnecting an existing account: the broker is then fixed. */
  reconnecting?: BrokerAccount;
  onConnected(account: BrokerAccount): void;
}

export function ConnectBrokerForm({ reconnecting, onConnected }: ConnectBrokerFormProps) {
  const { api } = useAuth();
  const [broker, setBroker] = useState<BrokerName>(reconnecting?.broker ?? 'paper');
  const [values, setValues] = useState<Partial<Record<CredentialField, string>>>({
    client_id: reconnecting?.client_id ?? '',
  });
  const submission = useSubmit(async () => {
    const request: BrokerConnectRequest = { broker };
    for (const field of BROKER_FIELDS[broker]) {
      const value = values[field]?.trim();
      if (value) request[field] = value;
    }
    const { account } = await api.connectBroker(request);
    setValues({});
    onConnected(account);
  }, ALL_FIELDS);

  const chooseBroker = (next: BrokerName) => {
    setBroker(next);
    submission.reset();
  };

  return (
    <View testID="connect-form">
      {reconnecting ? (
        <Text style={styles.heading}>Reconnect {BROKER_LABELS[broker]}</Text>
      ) : (
        <SegmentedControl
          label="Broker"
          segments={BROKER_SEGMENTS}
          value={broker}
          onChange={chooseBroker}
          testID="broker"
        />
      )}
      <Text style={styles.hint}>{BROKER_HINTS[broker]}</Text>
      {submission.formError ? <Banner tone="error" message={submission.formError} testID="connect-error" /> : null}
      {BROKER_FIELDS[broker].map((field) => (
        <TextField
          key={field}
          label={FIELD_LABELS[field]}
          value={values[field] ?? ''}
          onChangeText={(text) => setValues((current) => ({ ...current, [field]: text }))}
          error={submission.fieldError(field)}
          secureTextEntry={SECRET_FIELDS.has(field)}
          autoCapitalize="none"
          testID={field}
        />
      ))}
      <Button
        title={`Connect ${BROKER_LABELS[broker]}`}
        onPress={submission.submit}
        busy={submission.submitting}
        testID="connect"
      />
    </View>
  );
}

const styles = StyleSheet.create({
  heading: { fontSize: 16, fontWeight: '700', color: colors.text, marginBottom: spacing.sm },
  hint: { color: colors.muted, fontSize: 13, marginBottom: spacing.md },
});
