import { render } from '@testing-library/react-native';
import { SafeAreaProvider } from 'react-native-safe-area-context';

import { renderRoute, Root } from '../App';
import type { ApiClient } from '../src/api/client';
import { AuthProvider } from '../src/auth/AuthContext';
import { Navigator } from '../src/navigation/Navigator';
import type { Route } from '../src/navigation/routes';

/** Renders the whole app (session restore, login stack or main stack) on a client. */
export function renderApp(client: ApiClient) {
  return render(
    <SafeAreaProvider>
      <AuthProvider client={client}>
        <Root />
      </AuthProvider>
    </SafeAreaProvider>,
  );
}

/** Renders one screen as the root of the stack, on a client with a session. */
export function renderScreen(route: Route, client: ApiClient) {
  return render(
    <SafeAreaProvider>
      <AuthProvider client={client}>
        <Navigator initialRoute={route} renderRoute={renderRoute} />
      </AuthProvider>
    </SafeAreaProvider>,
  );
}
