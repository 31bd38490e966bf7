// Drives the real `tern serve` binary with the official OpenAI Node SDK (pinned in tests/npm):
// chat and completions, streamed and whole, stop strings, errors as the SDK's typed
// exceptions, a client abort mid-stream, and graceful shutdown on SIGTERM.
// Usage: node openai_client_test.mjs TERN_BINARY MODEL_DIR NPM_DIR. Exit 77 = skipped.
// TERN_SERVE_LAUNCHER (e.g. "mpirun -n 2") runs the server under a launcher, with the extra
// flags in TERN_SERVE_ARGS (e.g. "--split rows -t 1"): the same checks then hold for a split job.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';

const [ternBinary, modelDir, npmDir] = process.argv.slice(2);
const sdkPackage = path.resolve(npmDir, 'node_modules', 'openai', 'package.json');
if (!existsSync(sdkPackage)) {
  console.log(`SKIPPED: the openai npm package is not installed in ${npmDir} (make test installs it)`);
  process.exit(77);
}
const { OpenAI } = createRequire(sdkPackage)('openai');

const model = 'tinystories-bitnet';
const goldenPrompt = 'Once upon a time, there was a little fox named';
const golden = readFileSync(path.join(modelDir, 'golden.txt'), 'utf8').replace(/\n$/, '');

function startServer() {
  const launcher = (process.env.TERN_SERVE_LAUNCHER ?? '').split(' ').filter(Boolean);
  const extra = (process.env.TERN_SERVE_ARGS ?? '-t 2').split(' ').filter(Boolean);
  const args = ['serve', '-m', path.join(modelDir, `${model}.gguf`), '--port', '0', ...extra,
                '--parallel', '4', '--ctx', '4096', '--api-key', 'test-key', '--timeout', '2'];
  const command = launcher.length > 0 ? [launcher[0], [...launcher.slice(1), ternBinary, ...args]] : [ternBinary, args];
  const server = spawn(command[0], command[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout.on('data', (d) => { output += d; });
  server.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  const port = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 30000);
    server.stdout.on('data', () => {
      const m = output.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(() => reject(new Error(`server exited: ${output}`)));
  });
  return { server, port, exited, output: () => output };
}

async function health(port) {
  return (await fetch(`http://127.0.0.1:${port}/health`)).json();
}

async function streamText(stream) {
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta ? (choice.delta.content ?? '') : choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { text, finish, usage };
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

check('models.list names the model', async (client) => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [model]);
  assert.equal((await client.models.retrieve(model)).id, model);
});

check('greedy completion reproduces the golden story, whole and streamed', async (client) => {
  const whole = await client.completions.create({ model, prompt: goldenPrompt, max_tokens: 60, temperature: 0 });
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].text, golden);
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 60);
  const streamed = await streamText(await client.completions.create(
    { model, prompt: goldenPrompt, max_tokens: 60, temperature: 0, stream: true }));
  assert.equal(streamed.text, golden);
  assert.equal(streamed.finish, 'length');
});

check('chat completion, whole and streamed with usage, same seed same text', async (client) => {
  const request = { model, messages: [{ role: 'system', content: 'You tell stories.' },
                                      { role: 'user', content: 'Tell me about a brave dog.' }],
                    max_tokens: 48, temperature: 0.8, top_p: 0.9, seed: 7 };
  const whole = await client.chat.completions.create(request);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  const content = whole.choices[0].message.content;
  assert.ok(content.length > 0);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
  const streamed = await streamText(await client.chat.completions.create(
    { ...request, stream: true, stream_options: { include_usage: true } }));
  assert.equal(streamed.text, content);
  assert.equal(streamed.finish, whole.choices[0].finish_reason);
  assert.deepEqual(streamed.usage, whole.usage);
});

check('stop strings spanning tokens, whole and streamed', async (client) => {
  const cut = golden.slice(0, golden.indexOf('to explore'));
  for (const stream of [false, true]) {
    const response = await client.completions.create(
      { model, prompt: goldenPrompt, max_tokens: 60, temperature: 0, stop: ['to explore'], stream });
    const result = stream ? await streamText(response)
                          : { text: response.choices[0].text, finish: response.choices[0].finish_reason };
    assert.equal(result.text, cut);
    assert.equal(result.finish, 'stop');
  }
});

check('errors arrive as the SDK\'s typed exceptions', async (client, port) => {
  const wrongKey = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'nope', maxRetries: 0 });
  await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
                       (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(client.completions.create({ model, prompt: 'word '.repeat(5000) }),
                       (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
  await assert.rejects(client.models.retrieve('gpt-4o'), (e) => e instanceof OpenAI.NotFoundError);
});

check('a client that aborts mid-stream frees its slot', async (client, port) => {
  const controller = new AbortController();
  const stream = await client.completions.create(
    // 4000 tokens at up to 4096 positions take many seconds; the end of text is banned.
    { model, prompt: 'Once', max_tokens: 4000, stream: true, logit_bias: { 2: -100 } }, { signal: controller.signal });
  let chunks = 0;
  try {
    for await (const _ of stream) { if (++chunks === 3) controller.abort(); }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', String(e));
  }
  const deadline = Date.now() + 3000;
  while ((await health(port)).slots_processing !== 0) {
    assert.ok(Date.now() < deadline, 'slot still busy 3 s after the abort');
    await new Promise((r) => setTimeout(r, 20));
  }
});

const { server, port: portPromise, exited, output } = startServer();
let failures = 0;
try {
  const port = await portPromise;
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'test-key', maxRetries: 0, timeout: 60000 });
  for (const { name, fn } of checks) {
    try {
      await fn(client, port);
      console.log(`ok - ${name}`);
    } catch (e) {
      failures++;
      console.log(`not ok - ${name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
    }
  }
  if (process.env.TERN_SERVE_LAUNCHER) {
    // mpirun forwards SIGTERM only after odls_base_sigkill_timeout and exits 1 after any
    // signal: the leader must still drain, release the other ranks and stop before the kill.
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 20000);
    const { signal } = await exited;
    clearTimeout(timer);
    if (signal === null && output().includes('tern serve: stopped')) {
      console.log('ok - SIGTERM through the launcher stops the server and every rank');
    } else {
      failures++;
      console.log(`not ok - SIGTERM through the launcher: signal ${signal}\n${output()}`);
    }
    console.log(failures === 0 ? 'all checks passed' : `${failures} checks failed`);
    process.exit(failures === 0 ? 0 : 1);
  }
  // SIGTERM with a long stream in flight: the stream gets the 2 s grace (--timeout), then an
  // error event, and the server exits 0.
  const stream = await client.completions.create(
    { model, prompt: 'Once', max_tokens: 4000, stream: true, logit_bias: { 2: -100 } });
  let streamError = null;
  const consumed = (async () => {
    let chunks = 0;
    try {
      for await (const _ of stream) { if (++chunks === 2) server.kill('SIGTERM'); }
    } catch (e) { streamError = e; }
  })();
  const timer = setTimeout(() => server.kill('SIGKILL'), 20000);
  const { code, signal } = await exited;
  await consumed;
  clearTimeout(timer);
  if (code === 0 && output().includes('tern serve: stopped') && streamError instanceof OpenAI.APIError &&
      /shutting down/.test(streamError.message)) {
    console.log('ok - SIGTERM ends the stream in flight with an error after the grace period and exits 0');
  } else {
    failures++;
    console.log(`not ok - SIGTERM shutdown: code ${code}, signal ${signal}, stream error ${streamError}\n${output()}`);
  }
} catch (e) {
  failures++;
  console.log(`not ok - ${e.message}`);
  server.kill('SIGKILL');
}
console.log(failures === 0 ? 'all checks passed' : `${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
