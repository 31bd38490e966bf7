// A small Markdown renderer for model replies. Model output is untrusted, so it never builds
// HTML from strings: every piece becomes a DOM element whose text is set with text nodes,
// and links keep only http(s) and mailto targets. Works on partial text while a reply
// streams (an unclosed code fence runs to the end).

const fencePattern = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const headingPattern = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const listItemPattern = /^( {0,6})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const quotePattern = /^ {0,3}>\s?(.*)$/;
const rulePattern = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const safeLinkPattern = /^(https?:\/\/|mailto:)/i;
// Lists and quotes nest at most this deep; deeper text stays text (a hostile reply cannot
// exhaust the stack and break the page for good, since replies are stored).
const maxNesting = 12;

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// Inline spans, earliest match first: code, links, autolinks, bold, italic. Global patterns, so
// a search can start mid-text (lastIndex).
const inlineRules = [
  { pattern: /`([^`\n]+)`/g, build: (m) => textElement('code', m[1]) },
  {
    pattern: /\[([^\]\n]+)\]\(([^)\s]+)\)/g,
    build: (m) => (safeLinkPattern.test(m[2]) ? link(m[2], renderInline(m[1])) : document.createTextNode(m[0])),
  },
  { pattern: /\bhttps?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/g, build: (m) => link(m[0], [document.createTextNode(m[0])]) },
  // Underscores mark emphasis only outside words, so snake_case and __dunder__ names stay text.
  {
    pattern: /\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*|(?<!\w)__(?=\S)([^_\n]+?)(?<=\S)__(?!\w)/g,
    build: (m) => wrap('strong', renderInline(m[1] ?? m[2])),
  },
  {
    pattern: /\*(?=[^*\s])([^*\n]+?)(?<=\S)\*|(?<!\w)_(?=[^_\s])([^_\n]+?)(?<=\S)_(?!\w)/g,
    build: (m) => wrap('em', renderInline(m[1] ?? m[2])),
  },
];

function textElement(tag, text) {
  const node = element(tag);
  node.textContent = text;
  return node;
}

function wrap(tag, children) {
  const node = element(tag);
  node.append(...children);
  return node;
}

function link(href, children) {
  const node = wrap('a', children);
  node.href = href;
  node.target = '_blank';
  node.rel = 'noopener noreferrer nofollow';
  return node;
}

export function renderInline(text) {
  const nodes = [];
  let position = 0;
  while (position < text.length) {
    // Searching the whole text from `position` lets look-behinds see what came before.
    let best = null;
    for (const rule of inlineRules) {
      rule.pattern.lastIndex = position;
      const match = rule.pattern.exec(text);
      if (match && (best === null || match.index < best.match.index)) best = { rule, match };
    }
    if (best === null) {
      nodes.push(document.createTextNode(text.slice(position)));
      break;
    }
    if (best.match.index > position) nodes.push(document.createTextNode(text.slice(position, best.match.index)));
    nodes.push(best.rule.build(best.match));
    position = best.match.index + best.match[0].length;
  }
  return nodes;
}

// Lines joined by line breaks: models mean their single newlines.
function paragraph(lines) {
  const node = element('p');
  lines.forEach((line, i) => {
    if (i > 0) node.append(element('br'));
    node.append(...renderInline(line));
  });
  return node;
}

function codeBlock(language, lines) {
  const figure = element('div', 'code-block');
  const bar = element('div', 'code-bar');
  bar.append(textElement('span', language || 'text'));
  const copy = textElement('button', 'Copy');
  copy.type = 'button';
  copy.className = 'copy-code';
  const code = element('code');
  code.textContent = lines.join('\n');
  copy.addEventListener('click', () => {
    navigator.clipboard?.writeText(code.textContent).then(() => { copy.textContent = 'Copied'; }, () => {});
  });
  bar.append(copy);
  const pre = element('pre');
  pre.append(code);
  figure.append(bar, pre);
  return figure;
}

function list(lines, start, depth) {
  const first = listItemPattern.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const node = element(ordered ? 'ol' : 'ul');
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  const indent = first[1].length;
  let i = start;
  let item = null;
  let itemLines = [];
  const flush = () => {
    if (item) {
      item.append(renderBlocks(itemLines, depth + 1));
      node.append(item);
    }
  };
  while (i < lines.length) {
    const match = listItemPattern.exec(lines[i]);
    if (match && match[1].length <= indent + 1 && /\d/.test(match[2]) === ordered) {
      flush();
      item = element('li');
      itemLines = [match[3]];
    } else if (lines[i].trim() !== '' && (/^\s/.test(lines[i]) || (match && match[1].length > indent + 1))) {
      itemLines.push(lines[i].replace(/^\s{1,4}/, ''));
    } else if (lines[i].trim() === '' && i + 1 < lines.length && listItemPattern.test(lines[i + 1])) {
      // A blank line between items keeps the list going.
    } else {
      break;
    }
    ++i;
  }
  flush();
  return { node, next: i };
}

function startsBlock(line) {
  return fencePattern.test(line) || headingPattern.test(line) || listItemPattern.test(line) ||
         quotePattern.test(line) || rulePattern.test(line);
}

function renderBlocks(lines, depth = 0) {
  const root = document.createDocumentFragment();
  if (depth >= maxNesting) {
    root.append(paragraph(lines));
    return root;
  }
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === '') { ++i; continue; }
    const fence = fencePattern.exec(line);
    if (fence) {
      const body = [];
      ++i;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      ++i;   // the closing fence, when it has come
      root.append(codeBlock(fence[2], body));
      continue;
    }
    const heading = headingPattern.exec(line);
    if (heading) {
      root.append(wrap(`h${Math.min(6, heading[1].length + 2)}`, renderInline(heading[2])));
      ++i;
      continue;
    }
    if (rulePattern.test(line)) { root.append(element('hr')); ++i; continue; }
    if (quotePattern.test(line)) {
      const quoted = [];
      while (i < lines.length && quotePattern.test(lines[i])) quoted.push(quotePattern.exec(lines[i++])[1]);
      root.append(wrap('blockquote', [renderBlocks(quoted, depth + 1)]));
      continue;
    }
    if (listItemPattern.test(line)) {
      const { node, next } = list(lines, i, depth);
      root.append(node);
      i = next;
      continue;
    }
    const text = [];
    while (i < lines.length && lines[i].trim() !== '' && (text.length === 0 || !startsBlock(lines[i]))) text.push(lines[i++]);
    root.append(paragraph(text));
  }
  return root;
}

// Replaces `container`'s children with the rendering of `markdown`.
export function renderMarkdown(markdown, container) {
  container.replaceChildren(renderBlocks(markdown.replace(/\r\n?/g, '\n').split('\n')));
}
