/** The email + password form shared by Login and Register. */
import { useState } from 'react';

import { Banner } from '../components/Banner';
import { Button } from '../components/Button';
import { TextField } from '../components/TextField';
import type { Submission } from '../hooks/useSubmit';

export const CREDENTIAL_FIELDS = ['email', 'password'] as const;

interface CredentialsFormProps {
  submitTitle: string;
  submission: Submission<[string, string]>;
  /** Error shown beside the email field when the API gives none for it (e.g. EMAIL_TAKEN). */
  emailErrorFallback?: string;
  newPassword?: boolean;
}

export function CredentialsForm({
  submitTitle,
  submission,
  emailErrorFallback,
  newPassword = false,
}: CredentialsFormProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const submit = () => submission.submit(email.trim(), password);

  return (
    <>
      {submission.formError ? <Banner tone="error" message={submission.formError} testID="form-error" /> : null}
      <TextField
        label="Email"
        value={email}
        onChangeText={setEmail}
        error={submission.fieldError('email') ?? emailErrorFallback}
        autoCapitalize="none"
        autoComplete="email"
        keyboardType="email-address"
        placeholder="you@example.com"
        testID="email"
      />
      <TextField
        label="Password"
        value={password}
        onChangeText={setPassword}
        error={submission.fieldError('password')}
        autoCapitalize="none"
        autoComplete={newPassword ? 'new-password' : 'current-password'}
        secureTextEntry
        onSubmitEditing={submit}
        testID="password"
      />
      <Button title={submitTitle} onPress={submit} busy={submission.submitting} testID="submit" />
    </>
  );
}
