/** A minimal stack navigator: the stack lives in React state and only the top route renders. */
import { createContext, Fragment, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import { BackHandler } from 'react-native';

import type { Route } from './routes';

export interface Navigation {
  route: Route;
  canGoBack: boolean;
  push(route: Route): void;
  /** Replaces the top route, e.g. the create form by the strategy it created. */
  replace(route: Route): void;
  goBack(): void;
}

const NavigationContext = createContext<Navigation | null>(null);

interface NavigatorProps {
  initialRoute: Route;
  renderRoute(route: Route): ReactNode;
}

export function Navigator({ initialRoute, renderRoute }: NavigatorProps) {
  const [stack, setStack] = useState<Route[]>([initialRoute]);

  const navigation = useMemo<Navigation>(
    () => ({
      route: stack[stack.length - 1],
      canGoBack: stack.length > 1,
      push: (route) => setStack((current) => [...current, route]),
      replace: (route) => setStack((current) => [...current.slice(0, -1), route]),
      goBack: () => setStack((current) => (current.length > 1 ? current.slice(0, -1) : current)),
    }),
    [stack],
  );

  useEffect(() => {
    if (!navigation.canGoBack) return undefined;
    const subscription = BackHandler.addEventListener('hardwareBackPress', () => {
      navigation.goBack();
      return true;
    });
    return () => subscription.remove();
  }, [navigation]);

  return (
    <NavigationContext.Provider value={navigation}>
      {/* Keyed by depth so that a pushed screen always mounts fresh. */}
      <Fragment key={stack.length}>{renderRoute(navigation.route)}</Fragment>
    </NavigationContext.Provider>
  );
}

export function useNavigation(): Navigation {
  const navigation = useContext(NavigationContext);
  if (!navigation) throw new Error('useNavigation must be used inside <Navigator>');
  return navigation;
}
