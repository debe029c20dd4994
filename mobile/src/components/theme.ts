import type { Decimal } from '../api/types';

export const colors = {
  background: '#f5f6f8',
  surface: '#ffffff',
  border: '#d9dce1',
  text: '#1b1f24',
  muted: '#5f6b7a',
  primary: '#1554c0',
  danger: '#c62828',
  dangerSurface: '#fdecea',
  success: '#1b7f3b',
  successSurface: '#e6f4ea',
  warning: '#8a5a00',
  warningSurface: '#fff4d6',
  neutralSurface: '#eceff3',
};

export const spacing = { xs: 4, sm: 8, md: 12, lg: 16, xl: 24 };

/** Green for a gain, red for a loss. */
export function pnlColor(pnl: Decimal | null): string {
  const amount = Number(pnl ?? 0);
  if (amount > 0) return colors.success;
  if (amount < 0) return colors.danger;
  return colors.text;
}
