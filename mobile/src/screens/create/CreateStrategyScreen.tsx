import { useCallback, useState } from 'react';

import type { FieldErrors } from '../../api/errors';
import type { BrokerName, Instrument, Recurrence, StrategyInput } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { Banner } from '../../components/Banner';
import { Button } from '../../components/Button';
import { Screen } from '../../components/Screen';
import { type Segment, SegmentedControl } from '../../components/SegmentedControl';
import { TextField } from '../../components/TextField';
import { useResource } from '../../hooks/useResource';
import { useSubmit } from '../../hooks/useSubmit';
import { useNavigation } from '../../navigation/Navigator';
import { BrokerPicker } from './BrokerPicker';
import { checkForm, EMPTY_FORM, STRATEGY_FIELDS, type StrategyForm } from './strategyForm';
import { SymbolSearch } from './SymbolSearch';

const RECURRENCES: Segment<Recurrence>[] = [
  { value: 'once', label: 'Once' },
  { value: 'daily', label: 'Every trading day' },
];

export function CreateStrategyScreen() {
  const { api } = useAuth();
  const navigation = useNavigation();
  const accounts = useResource(api.brokerAccounts);
  const [form, setForm] = useState<StrategyForm>(EMPTY_FORM);
  const [localErrors, setLocalErrors] = useState<FieldErrors>({});
  const submission = useSubmit(async (input: StrategyInput) => {
    const strategy = await api.createStrategy(input);
    navigation.replace({ name: 'StrategyDetail', strategyId: strategy.id });
  }, STRATEGY_FIELDS);

  const update = <K extends keyof StrategyForm>(key: K, value: StrategyForm[K]) =>
    setForm((current) => ({ ...current, [key]: value }));
  const chooseBroker = useCallback((broker: BrokerName) => setForm((current) => ({ ...current, broker })), []);
  const fieldError = (field: string) => localErrors[field]?.join(' ') ?? submission.fieldError(field);

  const submit = () => {
    const checked = checkForm(form);
    setLocalErrors(checked.errors ?? {});
    if (checked.input) submission.submit(checked.input);
  };

  return (
    <Screen title="New strategy">
      {submission.formError ? <Banner tone="error" message={submission.formError} testID="form-error" /> : null}
      <SymbolSearch
        query={form.query}
        onQueryChange={(query) => setForm((current) => ({ ...current, query, instrument: null }))}
        selected={form.instrument}
        onSelect={(instrument: Instrument) =>
          setForm((current) => ({ ...current, instrument, query: instrument.symbol }))
        }
        error={fieldError('symbol') ?? fieldError('exchange')}
      />
      <TextField
        label="Buy time (HH:MM:SS)"
        value={form.buyTime}
        onChangeText={(text) => update('buyTime', text)}
        error={fieldError('buy_time')}
        keyboardType="numbers-and-punctuation"
        placeholder="09:30:00"
        testID="buy_time"
      />
      <TextField
        label="Sell time (HH:MM:SS)"
        value={form.sellTime}
        onChangeText={(text) => update('sellTime', text)}
        error={fieldError('sell_time')}
        keyboardType="numbers-and-punctuation"
        placeholder="15:15:00"
        testID="sell_time"
      />
      <TextField
        label="Stop-loss price (₹)"
        value={form.stopLoss}
        onChangeText={(text) => update('stopLoss', text)}
        error={fieldError('stop_loss')}
        hint="Exit at once if the price falls to this level."
        keyboardType="decimal-pad"
        placeholder="3500.00"
        testID="stop_loss"
      />
      <TextField
        label="Quantity"
        value={form.quantity}
        onChangeText={(text) => update('quantity', text)}
        error={fieldError('quantity')}
        keyboardType="number-pad"
        placeholder="10"
        testID="quantity"
      />
      <SegmentedControl
        label="Repeat"
        segments={RECURRENCES}
        value={form.recurrence}
        onChange={(recurrence) => update('recurrence', recurrence)}
        error={fieldError('recurrence')}
        testID="recurrence"
      />
      <BrokerPicker accounts={accounts} value={form.broker} onChange={chooseBroker} error={fieldError('broker')} />
      <Button title="Create strategy" onPress={submit} busy={submission.submitting} testID="create" />
    </Screen>
  );
}
