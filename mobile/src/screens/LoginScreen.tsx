import { StyleSheet, View } from 'react-native';

import { Button } from '../components/Button';
import { Screen } from '../components/Screen';
import { useAuth } from '../auth/AuthContext';
import { useSubmit } from '../hooks/useSubmit';
import { spacing } from '../components/theme';
import { useNavigation } from '../navigation/Navigator';
import { CREDENTIAL_FIELDS, CredentialsForm } from './CredentialsForm';

export function LoginScreen() {
  const { login } = useAuth();
  const navigation = useNavigation();
  const submission = useSubmit(login, CREDENTIAL_FIELDS);

  return (
    <Screen title="Log in to Algotrader">
      <CredentialsForm submitTitle="Log in" submission={submission} />
      <View style={styles.secondary}>
        <Button
          title="Create an account"
          variant="secondary"
          onPress={() => navigation.push({ name: 'Register' })}
          testID="go-register"
        />
      </View>
    </Screen>
  );
}

const styles = StyleSheet.create({
  secondary: { marginTop: spacing.md },
});
