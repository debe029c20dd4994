/** Runs a form's action and exposes its failure as per-field errors plus one form-level message. */
import { useCallback, useState } from 'react';

import { ApiError, errorMessage } from '../api/errors';

export interface Submission<A extends unknown[]> {
  submit(...args: A): Promise<void>;
  submitting: boolean;
  /** Stable error code of the last failure (e.g. "BROKER_AUTH_FAILED"), or null. */
  errorCode: string | null;
  /** The API's errors for a field the form shows. */
  fieldError(field: string): string | undefined;
  /** Message for the top of the form, including errors about fields the form does not show. */
  formError: string | null;
  /** Clears the failure, e.g. when the user switches broker. */
  reset(): void;
}

export function useSubmit<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
  shownFields: readonly string[],
): Submission<A> {
  const [submitting, setSubmitting] = useState(false);
  const [failure, setFailure] = useState<{ error: unknown } | null>(null);

  const submit = useCallback(
    async (...args: A) => {
      setSubmitting(true);
      setFailure(null);
      try {
        await action(...args);
      } catch (error) {
        setFailure({ error });
      } finally {
        setSubmitting(false);
      }
    },
    [action],
  );

  const apiError = failure?.error instanceof ApiError ? failure.error : null;
  const otherFieldMessages = apiError
    ? Object.entries(apiError.fields)
        .filter(([field]) => !shownFields.includes(field))
        .flatMap(([, messages]) => messages)
    : [];

  return {
    submit,
    submitting,
    errorCode: apiError?.code ?? null,
    fieldError: (field) => apiError?.fieldError(field),
    formError: failure ? [errorMessage(failure.error), ...otherFieldMessages].join(' ') : null,
    reset: () => setFailure(null),
  };
}
