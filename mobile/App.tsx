import { useState } from 'react';
import { SafeAreaProvider } from 'react-native-safe-area-context';

import { AuthProvider, createDefaultClient, useAuth } from './src/auth/AuthContext';
import { LoadingView } from './src/components/StateViews';
import { Navigator } from './src/navigation/Navigator';
import type { Route } from './src/navigation/routes';
import { BrokerScreen } from './src/screens/broker/BrokerScreen';
import { CreateStrategyScreen } from './src/screens/create/CreateStrategyScreen';
import { StrategyDetailScreen } from './src/screens/detail/StrategyDetailScreen';
import { LoginScreen } from './src/screens/LoginScreen';
import { RegisterScreen } from './src/screens/RegisterScreen';
import { SettingsScreen } from './src/screens/SettingsScreen';
import { StrategiesScreen } from './src/screens/strategies/StrategiesScreen';

export function renderRoute(route: Route) {
  switch (route.name) {
    case 'Login':
      return <LoginScreen />;
    case 'Register':
      return <RegisterScreen />;
    case 'Strategies':
      return <StrategiesScreen />;
    case 'CreateStrategy':
      return <CreateStrategyScreen />;
    case 'StrategyDetail':
      return <StrategyDetailScreen strategyId={route.strategyId} />;
    case 'Broker':
      return <BrokerScreen />;
    case 'Settings':
      return <SettingsScreen />;
  }
}

/** Signed-out users get the login stack, signed-in users the app; each starts fresh. */
export function Root() {
  const { state } = useAuth();
  if (state === 'restoring') return <LoadingView label="Starting…" />;
  const initialRoute: Route = state === 'signedIn' ? { name: 'Strategies' } : { name: 'Login' };
  return <Navigator key={state} initialRoute={initialRoute} renderRoute={renderRoute} />;
}

export default function App() {
  const [client] = useState(createDefaultClient);
  return (
    <SafeAreaProvider>
      <AuthProvider client={client}>
        <Root />
      </AuthProvider>
    </SafeAreaProvider>
  );
}
