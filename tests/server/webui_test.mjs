// The chat page of `tern serve` in a real browser: Debian's chromium, driven by playwright-core
// (pinned in tests/npm; it never downloads a browser), against the real binary and the shipped
// model. Sends a message with the keyboard and watches the reply stream in, stops a reply
// midway and checks that its slot is freed, reloads and finds the conversation, edits and
// regenerates, sees the API-key prompt and the busy message, and checks that replies holding
// <script> or <img onerror> are shown as text. Screenshots (desktop and phone) go to OUT_DIR.
// Usage: node webui_test.mjs TERN_BINARY MODEL_DIR NPM_DIR OUT_DIR. Exit 77 = skipped.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';

const [ternBinary, modelDir, npmDir, outDir] = process.argv.slice(2);
const playwrightPackage = path.resolve(npmDir, 'node_modules', 'playwright-core', 'package.json');
if (!existsSync(playwrightPackage)) {
  console.log(`SKIPPED: playwright-core is not installed in ${npmDir} (make test installs it)`);
  process.exit(77);
}
function findChromium() {
  for (const candidate of [process.env.TERN_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return null;
}
const chromiumPath = findChromium();
if (!chromiumPath) {
  console.log('SKIPPED: Debian\'s chromium is not installed (make test installs it as root: apt-get install chromium)');
  process.exit(77);
}
const { chromium } = createRequire(playwrightPackage)('playwright-core');
const apiKey = 'webui-key';

function startServer() {
  const server = spawn(ternBinary, ['serve', '-m', path.join(modelDir, 'tinystories-bitnet.gguf'), '--port', '0',
                                    '-t', '2', '--parallel', '2', '--ctx', '8192', '--api-key', apiKey],
                       { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout.on('data', (d) => { output += d; });
  server.stderr.on('data', (d) => { output += d; });
  const port = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30000);
    server.stdout.on('data', () => {
      const m = output.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('exit', () => reject(new Error(`server exited: ${output}`)));
  });
  return { server, port };
}

async function health(base) {
  return (await fetch(`${base}/health`)).json();
}

async function waitFor(what, condition, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A canned stream for the page, in the server's own event format.
function sseBody(pieces) {
  const events = pieces.map((content, i) => ({
    id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 0, model: 'm',
    choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content } : { content }, finish_reason: null }],
  }));
  events.push({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 0, model: 'm',
                choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
}

const assistantTexts = (page) => page.locator('.message.assistant .content').allTextContents();

const { server, port: portPromise } = startServer();
let browser;
let page;
try {
  const port = await portPromise;
  const base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run',
           '--disable-default-apps', '--disable-sync', '--metrics-recording-only', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') pageErrors.push(message.text()); });
  // The check that a reply holding markup stays text: anything it ran would set this.
  await page.addInitScript(() => { window.__injected = 0; });

  // 1. The page is public, the API is not: the page asks for the key, then shows the model.
  await page.goto(base);
  await page.locator('#api-key-dialog[open]').waitFor();
  await page.fill('#api-key-input', apiKey);
  await page.keyboard.press('Enter');
  await page.locator('#model-name', { hasText: 'tinystories-bitnet' }).waitFor();
  assert.match(await page.textContent('#model-context'), /8,192-token context/);
  console.log('ok - the page asks for the API key, then shows the model and its context');

  // 2. Settings are kept; a message sent with the keyboard streams its reply with statistics.
  await page.click('#open-settings');
  await page.fill('#max_tokens', '200');
  await page.click('#settings-save');
  await page.fill('#input', 'Once upon a time, there was a little fox named');
  await page.press('#input', 'Enter');
  await page.locator('#stop:not([hidden])').waitFor();
  await page.locator('.message.assistant .stats', { hasText: 'tokens/s' }).waitFor({ timeout: 30000 });
  const [firstReply] = await assistantTexts(page);
  assert.ok(firstReply.trim().length > 0, 'the reply has text');
  const stats = await page.textContent('.message.assistant .stats');
  assert.match(stats, /[\d.]+ tokens\/s · first token \d+ ms · \d+ tokens/);
  assert.ok(await page.locator('#send').isVisible(), 'Send is back once the reply ended');
  console.log(`ok - a message sent with Enter streams a reply (${stats})`);

  // 3. Stop midway: the reply keeps what came, says "stopped", and the server frees the slot.
  //    The request is the page's own, with the end-of-text token ignored so it runs long.
  await page.route('**/v1/chat/completions', (route) => {
    const body = JSON.parse(route.request().postData());
    route.continue({ postData: JSON.stringify({ ...body, ignore_eos: true, max_tokens: 8000 }) });
  });
  await page.fill('#input', 'Tell me a very long story.');
  await page.click('#send');
  await waitFor('streamed text', async () => ((await assistantTexts(page))[1] ?? '').length > 20);
  assert.equal((await health(base)).slots_processing, 1, 'the reply is generating');
  await page.keyboard.press('Escape');
  await page.locator('.message.assistant .stats', { hasText: 'stopped' }).waitFor();
  await waitFor('the slot to be freed', async () => (await health(base)).slots_processing === 0, 3000);
  const stopped = (await page.locator('.message.assistant .stats').nth(1).textContent());
  // "199.0 tokens/s · first token 61 ms · 38 tokens · stopped": the count, not the rate's last digit.
  const stoppedTokens = Number(stopped.match(/· (\d+) tokens? ·/)[1]);
  assert.ok(stoppedTokens > 0 && stoppedTokens < 8000, `stopped midway (${stopped})`);
  await page.unroute('**/v1/chat/completions');
  console.log(`ok - Escape stops a reply midway and the server frees its slot (${stopped})`);

  // 4. Reload: the conversation, its replies and the key are still there.
  const before = await assistantTexts(page);
  await page.reload();
  await page.locator('#model-name', { hasText: 'tinystories-bitnet' }).waitFor();
  assert.deepEqual(await assistantTexts(page), before);
  assert.equal(await page.locator('#conversation-list .open-conversation').count(), 1);
  assert.match(await page.textContent('#conversation-list [aria-current="true"]'), /Once upon a time/);
  console.log('ok - after a reload the conversation is listed and shown as it was');

  // 5. Edit the last message, then regenerate the reply with a fixed seed: same text twice.
  await page.click('.message.user .edit');
  assert.equal(await page.inputValue('#input'), 'Tell me a very long story.');
  assert.equal((await assistantTexts(page)).length, 1, 'the edited message and its reply left the view');
  await page.click('#open-settings');
  await page.fill('#seed', '7');
  await page.fill('#max_tokens', '24');
  await page.click('#settings-save');
  await page.fill('#input', 'The little fox');
  await page.press('#input', 'Enter');
  await page.locator('.message.assistant').nth(1).locator('.regenerate').waitFor({ timeout: 30000 });
  const seeded = (await assistantTexts(page))[1];
  await page.click('.message.assistant .regenerate');
  await page.locator('.message.assistant').nth(1).locator('.regenerate').waitFor({ timeout: 30000 });
  assert.equal((await assistantTexts(page)).length, 2, 'regenerate replaces the last reply');
  assert.equal((await assistantTexts(page))[1], seeded, 'the same seed gives the same reply');
  console.log('ok - edit-last-message and regenerate (seed 7 twice gives the same reply)');

  // 6. Replies holding markup are shown as text: nothing runs, no element is made from them.
  await page.route('**/v1/chat/completions', (route) => route.fulfill({
    status: 200, contentType: 'text/event-stream',
    body: sseBody(['Here: <script>window.__injected = 1</script> and ',
                   '<img src=x onerror="window.__injected = 2"> and [a link](javascript:window.__injected=3)',
                   '\n\n```html\n<script>window.__injected = 4</script>\n```\n**bold** <b>not bold</b>',
                   // Nesting a hostile reply could use to exhaust the renderer's stack.
                   '\n\n' + '>'.repeat(3000) + ' deep quote\n\n' + '- '.repeat(3000) + 'deep list']),
  }));
  await page.fill('#input', 'Show me some HTML');
  await page.press('#input', 'Enter');
  await page.locator('.message.assistant:last-of-type .regenerate').waitFor();
  const hostile = page.locator('.message.assistant').last().locator('.content');
  const shown = await hostile.textContent();
  assert.ok(shown.includes('<script>window.__injected = 1</script>'), `the script tag is text: ${shown}`);
  assert.ok(shown.includes('<img src=x onerror="window.__injected = 2">'), 'the img tag is text');
  assert.ok(shown.includes('<b>not bold</b>'), 'inline HTML is text');
  assert.equal(await hostile.locator('script, img, b, a').count(), 0, 'no element was made from the markup');
  assert.equal(await hostile.locator('strong').count(), 1, 'Markdown still renders');
  assert.equal(await hostile.locator('pre code').count(), 1, 'the code block renders');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__injected), 0, 'nothing from the reply ran');
  await page.unroute('**/v1/chat/completions');
  console.log('ok - <script>, <img onerror> and javascript: links in a reply are shown as text and never run');

  // 7. A busy server (503) and a wrong key (401) get a clear message.
  await page.route('**/v1/chat/completions', (route) => route.fulfill({
    status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' },
    body: JSON.stringify({ error: { message: 'all 2 slots are busy and 16 requests are waiting; try again later',
                                    type: 'server_error', code: 'server_busy' } }),
  }));
  await page.fill('#input', 'Are you there?');
  await page.press('#input', 'Enter');
  await page.locator('#notice:not([hidden])', { hasText: 'The server is busy' }).waitFor();
  assert.ok(await page.locator('#notice .notice-action', { hasText: 'Retry' }).isVisible());
  await page.unroute('**/v1/chat/completions');
  await page.click('#notice .notice-action');
  await page.locator('.message.assistant:last-of-type .regenerate').waitFor({ timeout: 30000 });
  console.log('ok - a busy server shows its message with Retry, and Retry answers');
  await page.evaluate(() => localStorage.setItem('tern.apiKey', JSON.stringify('wrong-key')));
  await page.reload();
  await page.locator('#api-key-dialog[open]', { hasText: 'refused this API key' }).waitFor();
  await page.fill('#api-key-input', apiKey);
  await page.keyboard.press('Enter');
  await page.locator('#model-name', { hasText: 'tinystories-bitnet' }).waitFor();
  console.log('ok - a wrong key is refused and the page asks again');

  // 8. Screenshots for a person to look at, and a phone-sized screen without sideways scrolling.
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'webui-desktop.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll');
  assert.ok(await page.locator('#toggle-sidebar').isVisible(), 'the conversations button shows on a phone');
  await page.locator('#new-chat').waitFor({ state: 'hidden', timeout: 2000 });   // the list folds away
  await page.click('#toggle-sidebar');
  await page.locator('#new-chat').waitFor({ state: 'visible' });
  await page.waitForTimeout(300);   // the slide-in
  await page.screenshot({ path: path.join(outDir, 'webui-phone.png') });
  console.log(`ok - phone-sized screen; screenshots: ${path.join(outDir, 'webui-desktop.png')}, webui-phone.png`);

  // 9. Keyboard alone: the conversations and settings are reachable with Tab.
  await page.setViewportSize({ width: 1200, height: 800 });
  await page.click('#new-chat');
  const reached = new Set();
  for (let i = 0; i < 30; ++i) {
    await page.keyboard.press('Tab');
    reached.add(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className));
  }
  for (const id of ['new-chat', 'export', 'open-settings', 'input']) assert.ok(reached.has(id), `Tab reaches #${id}`);
  console.log('ok - Tab reaches every control');

  assert.deepEqual(pageErrors.filter((e) => !/status of (401|503)/.test(e)), [], 'no script errors on the page');
  console.log('ok - no script errors');
} catch (error) {
  // What the page showed when a check failed, for whoever reads the log.
  if (page) {
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'webui-failure.png') }).catch(() => {});
    console.log(`page at the failure (screenshot ${path.join(outDir, 'webui-failure.png')}):`);
    console.log(await page.locator('body').innerText().catch(() => '(unreadable)'));
  }
  throw error;
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
