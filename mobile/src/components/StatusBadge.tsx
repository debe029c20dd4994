import { humanize } from '../format';
import { Badge, type BadgeTone } from './Badge';

/** Tones for strategy, order and broker-account states. */
const tones: Record<string, BadgeTone> = {
  running: 'good',
  connected: 'good',
  complete: 'good',
  completed: 'info',
  placed: 'info',
  pending: 'warn',
  expired: 'warn',
  failed: 'bad',
  rejected: 'bad',
  invalid: 'bad',
};

interface StatusBadgeProps {
  status: string;
  testID?: string;
}

export function StatusBadge({ status, testID }: StatusBadgeProps) {
  return <Badge label={humanize(status)} tone={tones[status] ?? 'neutral'} testID={testID} />;
}
