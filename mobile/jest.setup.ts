import { configure } from '@testing-library/react-native';

import { FakeWebSocket } from './test/FakeWebSocket';

jest.mock('react-native-safe-area-context', () => require('react-native-safe-area-context/jest/mock').default);

// The test environment has no WebSocket: screens get the controllable fake.
Object.assign(globalThis, { WebSocket: FakeWebSocket });

beforeEach(() => {
  FakeWebSocket.instances = [];
});

// The first render of a suite may transform React Native modules on the fly (cold cache in CI).
configure({ asyncUtilTimeout: 5000 });
