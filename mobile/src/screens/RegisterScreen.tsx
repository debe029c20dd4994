import { Screen } from '../components/Screen';
import { useAuth } from '../auth/AuthContext';
import { useSubmit } from '../hooks/useSubmit';
import { CREDENTIAL_FIELDS, CredentialsForm } from './CredentialsForm';

export function RegisterScreen() {
  const { register } = useAuth();
  const submission = useSubmit(register, CREDENTIAL_FIELDS);
  const emailTaken =
    submission.errorCode === 'EMAIL_TAKEN' ? 'This email is already registered. Log in instead.' : undefined;

  return (
    <Screen title="Create your account">
      <CredentialsForm
        submitTitle="Create account"
        submission={submission}
        emailErrorFallback={emailTaken}
        newPassword
      />
    </Screen>
  );
}
