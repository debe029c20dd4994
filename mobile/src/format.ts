/** Display helpers. Prices arrive as decimal strings and are shown in rupees. */
import type { Decimal } from './api/types';

const rupees = new Intl.NumberFormat('en-IN', { style: 'currency', currency: 'INR', minimumFractionDigits: 2 });

export function formatMoney(value: Decimal | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const amount = Number(value);
  return Number.isFinite(amount) ? rupees.format(amount) : '—';
}

/** Market times are Indian Standard Time, whatever the device's time zone. */
const MARKET_TIME_ZONE = 'Asia/Kolkata';

function parseDate(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(iso: string | null | undefined): string {
  const date = parseDate(iso);
  if (!date) return '—';
  return `${date.toLocaleString('en-IN', { dateStyle: 'medium', timeStyle: 'medium', timeZone: MARKET_TIME_ZONE })} IST`;
}

export function formatDate(iso: string | null | undefined): string {
  const date = parseDate(iso);
  return date ? date.toLocaleDateString('en-IN', { dateStyle: 'medium', timeZone: MARKET_TIME_ZONE }) : '—';
}

/** "buy_pending" → "Buy pending". */
export function humanize(value: string | null | undefined): string {
  if (!value) return '—';
  const words = value.replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
