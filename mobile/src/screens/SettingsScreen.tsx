import { useState } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import { errorMessage } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Banner, type BannerTone } from '../components/Banner';
import { Button } from '../components/Button';
import { Card, InfoRow } from '../components/Card';
import { ConfirmButton } from '../components/ConfirmButton';
import { Screen } from '../components/Screen';
import { ResourceView } from '../components/StateViews';
import { colors, spacing } from '../components/theme';
import { formatDate } from '../format';
import { useResource } from '../hooks/useResource';

export function SettingsScreen() {
  const { api, logout } = useAuth();
  const me = useResource(api.me);
  const [killing, setKilling] = useState(false);
  const [notice, setNotice] = useState<{ tone: BannerTone; message: string } | null>(null);

  const killAll = async () => {
    setKilling(true);
    setNotice(null);
    try {
      const { stopped } = await api.killSwitch();
      setNotice({
        tone: 'success',
        message: `Kill switch done: ${stopped} ${stopped === 1 ? 'strategy' : 'strategies'} stopped.`,
      });
    } catch (error) {
      setNotice({ tone: 'error', message: errorMessage(error) });
    } finally {
      setKilling(false);
    }
  };

  return (
    <Screen title="Settings">
      <Card title="Account">
        <ResourceView resource={me} loadingLabel="Loading account…">
          {(account) => (
            <>
              <InfoRow label="Email" value={account.email} testID="email" />
              <InfoRow label="Member since" value={formatDate(account.date_joined)} />
            </>
          )}
        </ResourceView>
      </Card>
      <Card title="Kill switch">
        <Text style={styles.text}>Stops every running strategy of yours at once.</Text>
        {notice ? <Banner tone={notice.tone} message={notice.message} testID="kill-notice" /> : null}
        <ConfirmButton
          title="Stop all strategies"
          question="Stop all your running strategies now?"
          confirmTitle="Yes, stop all"
          variant="danger"
          busy={killing}
          onConfirm={killAll}
          testID="kill-switch"
        />
      </Card>
      <View style={styles.logout}>
        <Button title="Log out" variant="secondary" onPress={logout} testID="logout" />
      </View>
    </Screen>
  );
}

const styles = StyleSheet.create({
  text: { color: colors.muted, marginBottom: spacing.sm },
  logout: { marginTop: spacing.md },
});
