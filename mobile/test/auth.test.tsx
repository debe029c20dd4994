import { fireEvent, screen, waitFor } from '@testing-library/react-native';

import { apiError, clientFor, fakeServer, ok } from './fakeServer';
import { renderApp } from './render';

const TOKENS = { access: 'access-1', refresh: 'refresh-1' };

async function fillCredentials(email: string, password: string) {
  fireEvent.changeText(await screen.findByLabelText('Email'), email);
  fireEvent.changeText(screen.getByLabelText('Password'), password);
  fireEvent.press(screen.getByTestId('submit'));
}

describe('Login', () => {
  it('shows the API errors beside each field', async () => {
    const server = fakeServer({
      'POST /auth/login': apiError(400, 'VALIDATION_ERROR', 'Invalid input.', {
        email: ['Enter a valid email address.'],
        password: ['This field may not be blank.'],
      }),
    });
    renderApp(clientFor(server).client);

    await fillCredentials('asha', '');

    expect(await screen.findByTestId('email-error')).toHaveTextContent('Enter a valid email address.');
    expect(screen.getByTestId('password-error')).toHaveTextContent('This field may not be blank.');
    expect(screen.getByTestId('form-error')).toHaveTextContent('Please correct the highlighted fields.');
  });

  it('says the credentials are wrong without a raw error', async () => {
    const server = fakeServer({ 'POST /auth/login': apiError(401, 'INVALID_CREDENTIALS', 'No active account found') });
    renderApp(clientFor(server).client);

    await fillCredentials('asha@example.com', 'wrong');

    expect(await screen.findByTestId('form-error')).toHaveTextContent('Wrong email or password.');
  });

  it('stores the tokens, not the password, and opens the strategies on success', async () => {
    const server = fakeServer({ 'POST /auth/login': ok(TOKENS), 'GET /strategies': ok([]) });
    const { client, tokenStore } = clientFor(server);
    renderApp(client);

    await fillCredentials(' asha@example.com ', 's3cret-pass');

    expect(await screen.findByText('Strategies')).toBeOnTheScreen();
    expect(server.callsTo('POST /auth/login')[0].body).toEqual({ email: 'asha@example.com', password: 's3cret-pass' });
    expect(tokenStore.current).toEqual(TOKENS);
    expect(JSON.stringify(tokenStore.current)).not.toContain('s3cret-pass');
    expect(await screen.findByText(/No strategies yet/)).toBeOnTheScreen();
  });
});

describe('Register', () => {
  async function openRegister(server: ReturnType<typeof fakeServer>) {
    const session = clientFor(server);
    renderApp(session.client);
    fireEvent.press(await screen.findByTestId('go-register'));
    expect(screen.getByText('Create your account')).toBeOnTheScreen();
    return session;
  }

  it('shows a taken email beside the email field', async () => {
    await openRegister(fakeServer({ 'POST /auth/register': apiError(409, 'EMAIL_TAKEN', 'Email already registered') }));

    await fillCredentials('asha@example.com', 'long-enough-password');

    expect(await screen.findByTestId('email-error')).toHaveTextContent(
      'This email is already registered. Log in instead.',
    );
  });

  it('shows password rules beside the password field', async () => {
    await openRegister(
      fakeServer({
        'POST /auth/register': apiError(400, 'VALIDATION_ERROR', 'Invalid input.', {
          password: ['This password is too short.', 'This password is too common.'],
        }),
      }),
    );

    await fillCredentials('asha@example.com', 'abc');

    expect(await screen.findByTestId('password-error')).toHaveTextContent(
      'This password is too short. This password is too common.',
    );
    expect(screen.queryByTestId('email-error')).toBeNull();
  });

  it('stores the tokens and signs in on success', async () => {
    const { tokenStore } = await openRegister(
      fakeServer({
        'POST /auth/register': { status: 201, body: { user_id: 'u1', ...TOKENS } },
        'GET /strategies': ok([]),
      }),
    );

    await fillCredentials('asha@example.com', 'long-enough-password');

    await waitFor(() => expect(tokenStore.current).toEqual(TOKENS));
    expect(await screen.findByText('Strategies')).toBeOnTheScreen();
  });
});

describe('session', () => {
  it('resumes a saved session and logs out from Settings', async () => {
    const server = fakeServer({
      'GET /strategies': ok([]),
      'GET /auth/me': ok({ user_id: 'u1', email: 'asha@example.com', date_joined: '2026-11-01T04:00:00Z' }),
    });
    const { client, tokenStore } = clientFor(server, TOKENS);
    renderApp(client);

    fireEvent.press(await screen.findByTestId('go-settings'));
    expect(await screen.findByText('asha@example.com')).toBeOnTheScreen();
    fireEvent.press(screen.getByTestId('logout'));

    expect(await screen.findByText('Log in to Algotrader')).toBeOnTheScreen();
    expect(tokenStore.current).toBeNull();
  });
});
