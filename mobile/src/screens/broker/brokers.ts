import type { BrokerConnectRequest, BrokerName } from '../../api/types';
import type { Segment } from '../../components/SegmentedControl';

export type CredentialField = Exclude<keyof BrokerConnectRequest, 'broker'>;

export const BROKER_LABELS: Record<BrokerName, string> = {
  paper: 'Paper',
  zerodha: 'Zerodha',
  dhan: 'Dhan',
  fyers: 'Fyers',
  angelone: 'Angel One',
};

export const BROKER_SEGMENTS: Segment<BrokerName>[] = (Object.keys(BROKER_LABELS) as BrokerName[]).map((value) => ({
  value,
  label: BROKER_LABELS[value],
}));

/** Credentials each broker asks for, in the order the form shows them. */
export const BROKER_FIELDS: Record<BrokerName, CredentialField[]> = {
  paper: [],
  zerodha: ['api_key', 'api_secret', 'request_token', 'access_token'],
  dhan: ['api_key', 'client_id', 'access_token'],
  fyers: ['api_key', 'client_id', 'access_token'],
  angelone: ['api_key', 'client_id', 'access_token'],
};

export const FIELD_LABELS: Record<CredentialField, string> = {
  api_key: 'API key',
  api_secret: 'API secret',
  request_token: 'Request token',
  access_token: 'Access token',
  client_id: 'Client ID',
};

export const SECRET_FIELDS: ReadonlySet<CredentialField> = new Set(['api_secret', 'access_token']);

export const BROKER_HINTS: Record<BrokerName, string> = {
  paper: 'Paper trading simulates orders at live prices. No keys needed.',
  zerodha: 'Give the request token from the Kite login redirect, or an access token.',
  dhan: 'Use the access token generated in the Dhan web console.',
  fyers: 'Use your Fyers app ID as the API key.',
  angelone: 'Use your SmartAPI key and your Angel One client code.',
};
