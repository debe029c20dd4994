// Algotrader end-to-end test (issue 6): drives the web app at /app/ in headless Chromium against a
// running platform. Register, connect Paper, create a strategy that buys a few seconds from now,
// start it, see the BUY arrive live over /ws/status/, push the paper market below the stop-loss,
// and see the position exit with reason stop-loss.
//
//   E2E_BASE_URL   the running platform, e.g. http://127.0.0.1:18080 (required)
//   E2E_REDIS_URL  that platform's Redis (default: the embedded one of this checkout, database 0),
//                  used by `manage.py set_price` and to read the paper market's price
//   CHROMIUM       the browser (default /usr/bin/chromium)
//
// Screenshots go to e2e/screenshots/. Exits non-zero on failure.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const SHOTS = join(HERE, 'screenshots');
const BASE = (process.env.E2E_BASE_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SYMBOL = 'TCS';
const TICK = 0.05; // TCS tick size (brokers/data/nse_equity.csv)
const BUY_DELAY_S = 15; // buy_time = now (IST) + this, when the form is filled

if (!BASE) {
  console.error('E2E_BASE_URL is not set (e.g. http://127.0.0.1:18080); e2e/run.sh sets it.');
  process.exit(2);
}

const started = Date.now();
function log(message) {
  console.log(`[e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function platformRedisUrl() {
  if (process.env.E2E_REDIS_URL) return process.env.E2E_REDIS_URL;
  const { port } = JSON.parse(readFileSync(join(ROOT, '.local', 'redis', 'server.json'), 'utf8'));
  return `redis://127.0.0.1:${port}/0`;
}

/** `manage.py ARGS` in the platform's environment. REDIS_URL is set explicitly: `devstack exec`
 * alone picks a per-process *test* Redis database, not the running platform's. */
async function manage(...args) {
  const python = join(ROOT, '.venv', 'bin', 'python');
  const { stdout } = await run(python, ['-m', 'algotrader.devstack', 'exec', '--', python, 'manage.py', ...args], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: platformRedisUrl() },
    timeout: 30_000,
  });
  return stdout.trim();
}

async function marketPrice(symbol) {
  const out = await manage(
    'shell',
    '-c',
    `from brokers.adapters.paper import market_price; print("PRICE", market_price(${JSON.stringify(symbol)}))`,
  );
  const match = /PRICE (\d+(?:\.\d+)?)/.exec(out);
  if (!match) throw new Error(`could not read the paper price of ${symbol}: ${out}`);
  return Number(match[1]);
}

/** "HH:MM:SS" in India Standard Time, `seconds` from now. */
function istTime(seconds) {
  const at = new Date(Date.now() + seconds * 1000);
  return at.toLocaleTimeString('en-GB', { timeZone: 'Asia/Kolkata', hour12: false });
}

function onTick(value) {
  return (Math.floor(Math.round(value * 100) / (TICK * 100)) * TICK).toFixed(2);
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

async function main() {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'algotrader-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 480, height: 1500 },
    timezoneId: 'Asia/Kolkata',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);

  // Everything the server pushes on /ws/status/, to prove the updates came over the socket.
  const frames = [];
  const sockets = [];
  page.on('websocket', (socket) => {
    sockets.push(socket.url().replace(/token=[^&]+/, 'token=…'));
    socket.on('framereceived', ({ payload }) => {
      try {
        frames.push({ at: Date.now(), event: JSON.parse(String(payload)) });
      } catch {
        // not JSON: ignore
      }
    });
  });
  const consoleErrors = [];
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));

  const byId = (id) => page.getByTestId(id, { exact: true });
  const expectText = async (id, pattern, timeout = 15_000) => {
    const locator = byId(id);
    await locator.first().waitFor({ timeout });
    const deadline = Date.now() + timeout;
    let text = '';
    while (Date.now() < deadline) {
      text = (await locator.first().textContent()) ?? '';
      if (pattern.test(text)) return text;
      await page.waitForTimeout(200);
    }
    throw new Error(`[data-testid=${id}] shows ${JSON.stringify(text)}, expected ${pattern}`);
  };
  const waitFrame = async (predicate, what, timeout) => {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const frame = frames.find(({ event }) => predicate(event));
      if (frame) return frame;
      await page.waitForTimeout(200);
    }
    throw new Error(`no WebSocket event for ${what} within ${timeout / 1000} s`);
  };

  try {
    // 1. Register.
    log(`opening ${BASE}/app/`);
    await page.goto(`${BASE}/app/`);
    await byId('go-register').click();
    const email = `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    await byId('email').fill(email);
    await byId('password').fill('e2e-Passw0rd-long-enough');
    await screenshot(page, 'register');
    await byId('submit').click();
    await byId('new-strategy').waitFor();
    await expectText('live-indicator', /Live/);
    log(`registered ${email}; strategies screen is Live`);
    await screenshot(page, 'registered-strategies');

    // 2. Connect the paper broker.
    await byId('go-broker').click();
    await byId('broker-paper').click();
    await byId('connect').click();
    await expectText('notice', /Connected to Paper/);
    await page.getByText('PAPER-', { exact: false }).first().waitFor();
    await screenshot(page, 'broker-connected');
    await byId('back').click();

    // 3. Create the strategy: buy a few seconds from now, stop-loss a little under the market.
    const price = await marketPrice(SYMBOL);
    const stopLoss = onTick(price - 10);
    const dropTo = onTick(Number(stopLoss) - 5);
    log(`paper ${SYMBOL} is ${price}: stop-loss ${stopLoss}, later set_price ${dropTo}`);
    await byId('new-strategy').click();
    await byId('symbol').fill(SYMBOL);
    await byId(`instrument-${SYMBOL}`).click();
    await byId('stop_loss').fill(stopLoss);
    await byId('quantity').fill('1');
    await byId('recurrence-once').click();
    await byId('broker-paper').click();
    const buyTime = istTime(BUY_DELAY_S);
    await byId('buy_time').fill(buyTime);
    await byId('sell_time').fill(istTime(BUY_DELAY_S + 600));
    log(`buy_time ${buyTime} IST`);
    await screenshot(page, 'new-strategy-form');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v1/strategy/create'));
    await byId('create').click();
    const response = await created;
    if (response.status() !== 201) throw new Error(`strategy/create answered ${response.status()}: ${await response.text()}`);
    const strategyId = (await response.json()).id;
    log(`created strategy ${strategyId}`);
    await byId('status-badge').waitFor();
    await expectText('status-badge', /Created/);
    await expectText('live-indicator', /Live/);

    // 4. Start it.
    await byId('start').click();
    await byId('start-confirm').click();
    await expectText('status-badge', /Running/);
    await expectText('next-buy', /IST/);
    await screenshot(page, 'started');
    log('started; waiting for the BUY');

    // 5. The BUY arrives live: over the socket, and on screen.
    const ours = (event) => event.strategy_id === strategyId;
    await waitFrame(
      (e) => e.type === 'strategy.status' && ours(e) && e.position === 'bought',
      'position bought',
      (BUY_DELAY_S + 30) * 1000,
    );
    const buyFrame = await waitFrame(
      (e) => e.type === 'order.update' && ours(e) && e.order.event === 'BUY' && e.order.status === 'complete',
      'BUY complete',
      10_000,
    );
    await expectText('position', /^Bought$/);
    await expectText(`order-${buyFrame.event.order.id}-status`, /Complete/);
    await expectText('live-indicator', /Live/);
    await page.getByText('Protective stop', { exact: true }).waitFor();
    log(`BUY complete at ${buyFrame.event.order.average_price}, shown live`);
    await screenshot(page, 'bought-live');

    // 6. The market falls below the stop-loss: the position exits.
    log(`set_price ${SYMBOL} ${dropTo}`);
    log(await manage('set_price', SYMBOL, dropTo));
    await waitFrame(
      (e) => e.type === 'strategy.status' && ours(e) && e.position === 'exited',
      'position exited',
      30_000,
    );
    await expectText('position', /^Exited$/);
    await expectText('exit-reason', /^Stop-loss$/);
    await expectText('status-badge', /Completed/);
    const exitFrame = frames.find(
      ({ event: e }) =>
        e.type === 'order.update' &&
        ours(e) &&
        ['PROTECTIVE_STOP', 'STOPLOSS'].includes(e.order.event) &&
        e.order.status === 'complete',
    );
    if (!exitFrame) throw new Error('no order.update with a completed stop-loss exit order');
    await expectText(`order-${exitFrame.event.order.id}-status`, /Complete/);
    await expectText('live-indicator', /Live/);
    log(`exited by ${exitFrame.event.order.event} at ${exitFrame.event.order.average_price}, exit reason stop-loss`);
    await screenshot(page, 'exited-stoploss');

    // 7. The list shows it too.
    await byId('back').click();
    await expectText(`strategy-${strategyId}`, /Exited/);
    await screenshot(page, 'strategies-after');

    const unexpected = consoleErrors.filter((text) => !/WebSocket|ERR_CONNECTION/.test(text));
    if (unexpected.length) log(`browser console errors (not fatal):\n  ${unexpected.join('\n  ')}`);
    log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)} s (${frames.length} socket events)`);
  } catch (error) {
    await screenshot(page, 'failure').catch(() => {});
    console.error(`[e2e] FAIL: ${error?.stack ?? error}`);
    console.error(`[e2e] sockets: ${sockets.join(', ') || 'none'}`);
    console.error(`[e2e] last socket events:\n  ${frames.slice(-10).map((f) => JSON.stringify(f.event)).join('\n  ')}`);
    if (consoleErrors.length) console.error(`[e2e] browser errors:\n  ${consoleErrors.join('\n  ')}`);
    process.exitCode = 1;
  } finally {
    // Every socket event, for the record (seconds since the start, then the payload).
    const record = frames.map(({ at, event }) => ({ t: (at - started) / 1000, ...event }));
    writeFileSync(join(SHOTS, 'socket-events.json'), `${JSON.stringify(record, null, 1)}\n`);
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
