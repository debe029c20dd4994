import type { WebSocketLike } from '../src/live/useLiveStatus';

/** A controllable WebSocket: the test opens it, sends server messages and closes it. */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];

  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closedByClient = false;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  static create = (url: string): WebSocketLike => new FakeWebSocket(url) as unknown as WebSocketLike;

  static latest(): FakeWebSocket {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  close(): void {
    this.closedByClient = true;
  }

  serverOpen(): void {
    this.onopen?.();
  }

  serverSend(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  serverClose(code = 1006): void {
    this.onclose?.({ code });
  }
}
