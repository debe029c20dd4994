/** API errors and the human messages the app shows for them. */

export type FieldErrors = Record<string, string[]>;

/** Body of every error response: `{"error": CODE, "message": text, "fields": {...}}`. */
export interface ApiErrorBody {
  error: string;
  message?: string;
  fields?: FieldErrors;
}

/** Codes the app produces itself when there is no usable API answer. */
export const NETWORK_ERROR = 'NETWORK_ERROR';
export const SERVER_ERROR = 'SERVER_ERROR';

const MESSAGES: Record<string, string> = {
  VALIDATION_ERROR: 'Please correct the highlighted fields.',
  EMAIL_TAKEN: 'An account with this email already exists.',
  INVALID_CREDENTIALS: 'Wrong email or password.',
  TOKEN_EXPIRED: 'Your session has expired. Please log in again.',
  TOKEN_INVALID: 'Your session is no longer valid. Please log in again.',
  NOT_AUTHENTICATED: 'Please log in to continue.',
  THROTTLED: 'Too many attempts. Please wait a moment and try again.',
  NOT_FOUND: 'We could not find that. It may have been deleted.',
  BROKER_AUTH_FAILED: 'The broker rejected these credentials. Check them and try again.',
  BROKER_UNAVAILABLE: 'The broker is not responding right now. Please try again in a minute.',
  BROKER_NOT_CONNECTED: 'Connect your broker account first.',
  STRATEGY_INVALID: 'This strategy is not valid. Check the highlighted fields.',
  STRATEGY_OVERLAP: 'You already have a strategy on this symbol at overlapping times.',
  STRATEGY_STATE: 'This strategy cannot do that in its current state.',
  [NETWORK_ERROR]: 'Cannot reach the Algotrader server. Check your connection and try again.',
  [SERVER_ERROR]: 'The server ran into a problem. Please try again shortly.',
};

const FALLBACK_MESSAGE = 'Something went wrong. Please try again.';

/** The message shown to the user for an error code; the API's own message when the code is unknown. */
export function humanMessage(code: string, apiMessage?: string, retryAfterSeconds: number | null = null): string {
  if (code === 'THROTTLED' && retryAfterSeconds) {
    return `Too many attempts. Try again in ${retryAfterSeconds} s.`;
  }
  return MESSAGES[code] ?? (apiMessage || FALLBACK_MESSAGE);
}

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fields: FieldErrors;
  readonly retryAfterSeconds: number | null;

  constructor(options: {
    code: string;
    status: number;
    apiMessage?: string;
    fields?: FieldErrors;
    retryAfterSeconds?: number | null;
  }) {
    const retryAfter = options.retryAfterSeconds ?? null;
    super(humanMessage(options.code, options.apiMessage, retryAfter));
    this.name = 'ApiError';
    this.code = options.code;
    this.status = options.status;
    this.fields = options.fields ?? {};
    this.retryAfterSeconds = retryAfter;
  }

  /** Errors for one field, or undefined when that field is fine. */
  fieldError(field: string): string | undefined {
    const messages = this.fields[field];
    return messages && messages.length > 0 ? messages.join(' ') : undefined;
  }
}

/** What to show for any thrown value: never a raw exception. */
export function errorMessage(error: unknown): string {
  return error instanceof ApiError ? error.message : FALLBACK_MESSAGE;
}
