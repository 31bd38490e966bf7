// The chat page of `tern serve`: conversations kept in this browser's storage, replies streamed
// from /v1/chat/completions (server-sent events), rendered as Markdown through text nodes only.
import { renderMarkdown } from './markdown.js';

const keys = { settings: 'tern.settings', conversations: 'tern.conversations', current: 'tern.current', apiKey: 'tern.apiKey' };
const defaultSettings = {
  systemPrompt: '', temperature: 0.8, top_p: 0.95, top_k: 40, min_p: 0.05, max_tokens: null, seed: null,
};
const samplingFields = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'seed'];
const $ = (id) => document.getElementById(id);

const state = {
  settings: { ...defaultSettings, ...load(keys.settings, {}) },
  conversations: load(keys.conversations, []),
  currentId: load(keys.current, null),
  apiKey: load(keys.apiKey, ''),
  generation: null,       // { controller, conversation, message, view } while a reply streams
  retryAfterKey: null,    // what to do once the user has given an API key
};

// ---- storage ------------------------------------------------------------------------------

function load(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (error) {
    showNotice(`This browser would not store the conversation: ${error.message}`);
  }
}

function saveConversations() {
  save(keys.conversations, state.conversations);
  save(keys.current, state.currentId);
}

function currentConversation() {
  return state.conversations.find((c) => c.id === state.currentId) ?? null;
}

function newConversation(firstMessage) {
  const conversation = {
    id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    title: firstMessage.replace(/\s+/g, ' ').trim().slice(0, 60) || 'New chat',
    created: Date.now(),
    updated: Date.now(),
    messages: [],
  };
  state.conversations.unshift(conversation);
  state.currentId = conversation.id;
  return conversation;
}

// ---- the server ---------------------------------------------------------------------------

function apiHeaders() {
  const headers = { 'Content-Type': 'application/json' };
  if (state.apiKey) headers.Authorization = `Bearer ${state.apiKey}`;
  return headers;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body?.error?.message) return body.error.message;
  } catch { /* not JSON */ }
  return `HTTP ${response.status}`;
}

async function loadModelInfo() {
  let response;
  try {
    response = await fetch('/v1/models', { headers: apiHeaders() });
  } catch (error) {
    showNotice(`The server cannot be reached: ${error.message}`);
    return;
  }
  if (response.status === 401) {
    askForApiKey(state.apiKey ? 'The server refused this API key; enter the right one.' : 'This server needs an API key.');
    return;
  }
  if (!response.ok) {
    showNotice(`Could not read the model: ${await errorMessage(response)}`);
    return;
  }
  const model = (await response.json()).data?.[0];
  if (!model) return;
  $('model-name').textContent = model.id;
  document.title = `${model.id} · tern`;
  const context = model.meta?.n_ctx;
  $('model-context').textContent = context ? `${context.toLocaleString('en-US')}-token context` : '';
}

// The stream's JSON events, until [DONE]; keep-alive comments are skipped.
async function* serverEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart()).join('\n');
      if (data === '') continue;
      if (data === '[DONE]') return;
      yield JSON.parse(data);
    }
  }
}

function requestBody(conversation) {
  const messages = [];
  if (state.settings.systemPrompt.trim()) messages.push({ role: 'system', content: state.settings.systemPrompt });
  for (const { role, content } of conversation.messages) messages.push({ role, content });
  const body = { messages, stream: true, stream_options: { include_usage: true } };
  for (const field of samplingFields) {
    if (state.settings[field] !== null && state.settings[field] !== undefined) body[field] = state.settings[field];
  }
  return body;
}

// ---- generating a reply -------------------------------------------------------------------

async function generate(conversation) {
  const body = requestBody(conversation);
  const message = { role: 'assistant', content: '', stats: null };
  conversation.messages.push(message);
  conversation.updated = Date.now();
  renderConversation();
  const view = document.querySelector('#messages .message:last-of-type');
  const controller = new AbortController();
  state.generation = { controller, conversation, message, view };
  setGenerating(true);
  const started = performance.now();
  let firstTokenAt = null;
  let pieces = 0;
  let usage = null;
  let finish = null;
  let failed = false;
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST', headers: apiHeaders(), body: JSON.stringify(body), signal: controller.signal,
    });
    if (!response.ok) {
      failed = true;
      await reportRefusal(response, conversation);
    } else {
      for await (const event of serverEvents(response.body)) {
        if (event.error) throw new Error(event.error.message ?? 'the server ended the reply with an error');
        if (event.usage) usage = event.usage;
        const choice = event.choices?.[0];
        const piece = choice?.delta?.content ?? '';
        if (piece) {
          firstTokenAt ??= performance.now();
          message.content += piece;
          ++pieces;
          scheduleStreamRender();
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
    }
  } catch (error) {
    if (error.name === 'AbortError') {
      finish = 'stopped';
    } else {
      finish = 'error';
      showNotice(`The reply failed: ${error.message}`);
    }
  }
  state.generation = null;
  setGenerating(false);
  if (failed && message.content === '') {
    conversation.messages.pop();
  } else {
    const ended = performance.now();
    const tokens = usage?.completion_tokens ?? pieces;
    const seconds = firstTokenAt === null ? 0 : (ended - firstTokenAt) / 1000;
    message.stats = {
      tokens,
      time_to_first_token_ms: firstTokenAt === null ? null : Math.round(firstTokenAt - started),
      tokens_per_second: tokens > 1 && seconds > 0 ? (tokens - 1) / seconds : null,
      finish,
    };
  }
  conversation.updated = Date.now();
  saveConversations();
  renderConversation();
  renderConversationList();
}

async function reportRefusal(response, conversation) {
  const text = await errorMessage(response);
  const retry = () => {
    const last = conversation.messages.at(-1);
    if (last?.role === 'assistant' && last.content === '') conversation.messages.pop();
    generate(conversation);
  };
  if (response.status === 401) {
    state.retryAfterKey = retry;
    askForApiKey(state.apiKey ? 'The server refused this API key; enter the right one.' : 'This server needs an API key.');
  } else if (response.status === 503) {
    showNotice(`The server is busy: ${text}. Try again in a moment.`, { label: 'Retry', action: retry });
  } else {
    showNotice(`The server refused the request: ${text}`);
  }
}

function stopGeneration() {
  state.generation?.controller.abort();
}

let renderPending = false;
function scheduleStreamRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    const generation = state.generation;
    if (!generation) return;
    renderMarkdown(generation.message.content, generation.view.querySelector('.content'));
    const list = $('messages');
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 120) list.scrollTop = list.scrollHeight;
  });
}

function setGenerating(on) {
  $('send').hidden = on;
  $('stop').hidden = !on;
  document.body.classList.toggle('generating', on);
}

// ---- actions ------------------------------------------------------------------------------

function send(text) {
  if (state.generation || text.trim() === '') return;
  const conversation = currentConversation() ?? newConversation(text);
  conversation.messages.push({ role: 'user', content: text });
  $('input').value = '';
  saveConversations();
  renderConversationList();
  generate(conversation);
}

function regenerate() {
  const conversation = currentConversation();
  if (state.generation || !conversation || conversation.messages.at(-1)?.role !== 'assistant') return;
  conversation.messages.pop();
  generate(conversation);
}

// The last user message goes back into the composer; it and the reply to it leave the
// conversation until it is sent again.
function editLastMessage() {
  const conversation = currentConversation();
  if (state.generation || !conversation) return;
  const index = conversation.messages.findLastIndex((m) => m.role === 'user');
  if (index < 0) return;
  $('input').value = conversation.messages[index].content;
  conversation.messages.splice(index);
  saveConversations();
  renderConversation();
  $('input').focus();
}

function selectConversation(id) {
  if (state.generation) stopGeneration();
  state.currentId = id;
  save(keys.current, id);
  renderConversationList();
  renderConversation();
  closeSidebarOnPhone();
}

function deleteConversation(id) {
  if (state.generation?.conversation.id === id) stopGeneration();
  state.conversations = state.conversations.filter((c) => c.id !== id);
  saveConversations();
  renderConversationList();
  // Only the shown conversation's view is redrawn: a reply streaming there keeps its node.
  if (state.currentId === id) {
    state.currentId = null;
    save(keys.current, null);
    renderConversation();
  }
}

function startNewChat() {
  if (state.generation) stopGeneration();
  state.currentId = null;
  save(keys.current, null);
  renderConversationList();
  renderConversation();
  closeSidebarOnPhone();
  $('input').focus();
}

function exportConversations() {
  const data = JSON.stringify({ exported_by: 'tern', version: 1, conversations: state.conversations }, null, 2);
  const url = URL.createObjectURL(new Blob([data], { type: 'application/json' }));
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = 'tern-conversations.json';
  anchor.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function validStats(s) {
  if (s === null || s === undefined) return true;
  const numberOrNull = (v) => v === null || (typeof v === 'number' && Number.isFinite(v));
  return typeof s === 'object' && Number.isInteger(s.tokens) && numberOrNull(s.tokens_per_second) &&
         numberOrNull(s.time_to_first_token_ms) && (s.finish === null || typeof s.finish === 'string');
}

function validConversation(c) {
  return c && typeof c === 'object' && typeof c.title === 'string' && Array.isArray(c.messages) &&
         c.messages.every((m) => m && ['user', 'assistant'].includes(m.role) && typeof m.content === 'string' &&
                                 validStats(m.stats));
}

async function importConversations(file) {
  try {
    const parsed = JSON.parse(await file.text());
    const list = Array.isArray(parsed) ? parsed : parsed?.conversations;
    if (!Array.isArray(list) || !list.every(validConversation)) throw new Error('not a tern conversations file');
    const known = new Set(state.conversations.map((c) => c.id));
    for (const c of list) {
      const id = typeof c.id === 'string' && !known.has(c.id) ? c.id : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      known.add(id);
      state.conversations.push({ id, title: c.title, created: Number(c.created) || Date.now(),
                                 updated: Number(c.updated) || Date.now(),
                                 messages: c.messages.map(({ role, content, stats }) => ({ role, content, stats: stats ?? null })) });
    }
    state.conversations.sort((a, b) => b.updated - a.updated);
    saveConversations();
    renderConversationList();
    showNotice(`Imported ${list.length} conversation${list.length === 1 ? '' : 's'}.`);
  } catch (error) {
    showNotice(`Could not import ${file.name}: ${error.message}`);
  }
}

// ---- rendering ----------------------------------------------------------------------------

function button(label, onClick, className) {
  const node = document.createElement('button');
  node.type = 'button';
  node.textContent = label;
  if (className) node.className = className;
  node.addEventListener('click', onClick);
  return node;
}

function statsText(stats) {
  if (!stats) return '';
  const parts = [];
  if (stats.tokens_per_second !== null) parts.push(`${stats.tokens_per_second.toFixed(1)} tokens/s`);
  if (stats.time_to_first_token_ms !== null) parts.push(`first token ${stats.time_to_first_token_ms} ms`);
  parts.push(`${stats.tokens} token${stats.tokens === 1 ? '' : 's'}`);
  if (stats.finish === 'stopped') parts.push('stopped');
  if (stats.finish === 'length') parts.push('length limit');
  if (stats.finish === 'error') parts.push('failed');
  return parts.join(' · ');
}

function messageView(message, { isLast, isLastUser }) {
  const article = document.createElement('article');
  article.className = `message ${message.role}`;
  const role = document.createElement('div');
  role.className = 'role';
  role.textContent = message.role === 'user' ? 'You' : 'Model';
  const content = document.createElement('div');
  content.className = 'content';
  if (message.role === 'assistant') renderMarkdown(message.content, content);
  else content.textContent = message.content;
  article.append(role, content);
  const meta = document.createElement('div');
  meta.className = 'meta';
  if (message.role === 'assistant') {
    const stats = document.createElement('span');
    stats.className = 'stats';
    stats.textContent = statsText(message.stats);
    meta.append(stats);
    if (message.stats) {
      meta.append(button('Copy', () => navigator.clipboard?.writeText(message.content)));
      if (isLast) meta.append(button('Regenerate', regenerate, 'regenerate'));
    }
  } else if (isLastUser) {
    meta.append(button('Edit', editLastMessage, 'edit'));
  }
  article.append(meta);
  return article;
}

function renderConversation() {
  const list = $('messages');
  const conversation = currentConversation();
  const messages = conversation?.messages ?? [];
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  const busy = state.generation !== null;
  list.replaceChildren(...messages.map((m, i) => messageView(m, {
    isLast: !busy && i === messages.length - 1, isLastUser: !busy && i === lastUser,
  })));
  if (messages.length === 0) {
    const hint = document.createElement('p');
    hint.id = 'empty-hint';
    hint.textContent = 'Ask something. Enter sends, Shift+Enter starts a new line, Escape stops a reply.';
    list.append(hint);
  }
  list.scrollTop = list.scrollHeight;
}

function renderConversationList() {
  const list = $('conversation-list');
  list.replaceChildren(...state.conversations.map((c) => {
    const item = document.createElement('li');
    const open = button(c.title, () => selectConversation(c.id), 'open-conversation');
    if (c.id === state.currentId) open.setAttribute('aria-current', 'true');
    const remove = button('×', () => deleteConversation(c.id), 'delete-conversation');
    remove.setAttribute('aria-label', `Delete “${c.title}”`);
    item.append(open, remove);
    return item;
  }));
}

function showNotice(text, action) {
  $('notice-text').textContent = text;
  const old = $('notice').querySelector('.notice-action');
  if (old) old.remove();
  if (action) {
    const retry = button(action.label, () => { hideNotice(); action.action(); }, 'notice-action');
    $('notice-close').before(retry);
  }
  $('notice').hidden = false;
}

function hideNotice() {
  $('notice').hidden = true;
}

// ---- settings and the API key -------------------------------------------------------------

function openSettings() {
  $('system-prompt').value = state.settings.systemPrompt;
  for (const field of samplingFields) $(field).value = state.settings[field] ?? '';
  $('api-key-setting').value = state.apiKey;
  $('settings').showModal();
}

function readSettings() {
  const settings = { systemPrompt: $('system-prompt').value };
  for (const field of samplingFields) {
    const text = $(field).value.trim();
    const value = Number(text);
    settings[field] = text === '' || !Number.isFinite(value) ? null : value;
  }
  for (const integerField of ['top_k', 'max_tokens', 'seed']) {
    if (settings[integerField] !== null) settings[integerField] = Math.trunc(settings[integerField]);
  }
  return settings;
}

function saveSettings() {
  state.settings = readSettings();
  save(keys.settings, state.settings);
  const key = $('api-key-setting').value.trim();
  if (key !== state.apiKey) {
    state.apiKey = key;
    save(keys.apiKey, key);
    loadModelInfo();
  }
}

function askForApiKey(reason) {
  $('api-key-reason').textContent = reason;
  $('api-key-input').value = '';
  if (!$('api-key-dialog').open) $('api-key-dialog').showModal();
}

function useApiKey() {
  state.apiKey = $('api-key-input').value.trim();
  save(keys.apiKey, state.apiKey);
  hideNotice();
  loadModelInfo();
  const retry = state.retryAfterKey;
  state.retryAfterKey = null;
  if (retry) retry();
}

// ---- layout and keyboard ------------------------------------------------------------------

function setSidebar(open) {
  document.body.classList.toggle('sidebar-open', open);
  $('toggle-sidebar').setAttribute('aria-expanded', String(open));
}

function closeSidebarOnPhone() {
  setSidebar(false);
}

function wireEvents() {
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    send($('input').value);
  });
  $('input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send($('input').value);
    }
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.generation) {
      event.preventDefault();
      stopGeneration();
    }
  });
  $('stop').addEventListener('click', stopGeneration);
  $('new-chat').addEventListener('click', startNewChat);
  $('export').addEventListener('click', exportConversations);
  $('import-file').addEventListener('change', (event) => {
    const file = event.target.files?.[0];
    if (file) importConversations(file);
    event.target.value = '';
  });
  $('toggle-sidebar').addEventListener('click', () => setSidebar(!document.body.classList.contains('sidebar-open')));
  $('open-settings').addEventListener('click', openSettings);
  $('settings-form').addEventListener('submit', saveSettings);
  $('settings-reset').addEventListener('click', () => {
    for (const field of samplingFields) $(field).value = defaultSettings[field] ?? '';
    $('system-prompt').value = '';
  });
  $('api-key-form').addEventListener('submit', useApiKey);
  $('notice-close').addEventListener('click', hideNotice);
}

wireEvents();
renderConversationList();
renderConversation();
loadModelInfo();
