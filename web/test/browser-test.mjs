// The browser test (scripts/browser-test.sh): headless Chromium opens the demo, classifies a
// sample photo and a picked image file, and each result must match the host runtime (`mote run`)
// on the same input tensor: same top-1, logits within 1e-3. Also checks that a latency is shown
// and saves a screenshot.
//
//   node web/test/browser-test.mjs <playwright dir> <out dir>
import { createRequire } from 'node:module';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpyF32, readNpyF32 } from './npy.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [pwDir, outDir] = process.argv.slice(2).map((p) => path.resolve(p));
const { chromium } = createRequire(path.join(pwDir, 'package.json'))('playwright-core');
const data = path.resolve(repo, '../shared/data');
const model = path.join(repo, 'out/web/efficientnet_lite0.mote');
const TOL = 1e-3; // meta.json: float32 atol 1e-3 on logits
const failures = [];
let passed = 0;

function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (ok) passed++;
  else failures.push(what);
}

function startServer() {
  const proc = spawn(process.execPath, [path.join(repo, 'web/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.on('exit', (c) => reject(new Error(`the server exited (${c})`)));
    proc.stdout.on('data', (d) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve({ proc, url: m[1] });
    });
  });
}

/** The page's last input and logits, decoded from base64. */
async function lastRun(page) {
  const b64 = await page.evaluate(() => {
    const enc = (a) => {
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
      return btoa(s);
    };
    const d = window.moteDemo;
    return { input: enc(d.input), logits: enc(d.logits), top5: d.top5, ms: d.ms };
  });
  const f32 = (s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); };
  return { ...b64, input: f32(b64.input), logits: f32(b64.logits) };
}

/** `mote run` on the same tensor: the host's logits. */
function hostLogits(input, name) {
  const dir = path.join(outDir, name);
  fs.mkdirSync(dir, { recursive: true });
  writeNpyF32(path.join(dir, 'input.npy'), input, [1, 3, 224, 224]);
  execFileSync(path.join(repo, 'target/release/mote'), ['run', model, '-i', `input=${path.join(dir, 'input.npy')}`, '-o', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readNpyF32(path.join(dir, 'output_0.npy'));
}

const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

async function compare(page, label, source) {
  await page.waitForFunction((s) => ['done', 'error'].includes(window.moteDemo.state) && (window.moteDemo.source === s || window.moteDemo.state === 'error'), source, { timeout: 120000 });
  const state = await page.evaluate(() => [window.moteDemo.state, window.moteDemo.error]);
  if (state[0] === 'error') throw new Error(`the page failed on ${label}: ${state[1]}`);
  const run = await lastRun(page);
  const host = hostLogits(run.input, label);
  let maxDiff = 0;
  for (let i = 0; i < host.length; i++) maxDiff = Math.max(maxDiff, Math.abs(host[i] - run.logits[i]));
  check(run.logits.length === host.length, `${label}: ${run.logits.length} logits in the browser, ${host.length} on the host`);
  check(run.top5[0] === argmax(host), `${label}: browser top-1 class ${run.top5[0]}, host top-1 class ${argmax(host)}`);
  check(maxDiff <= TOL, `${label}: max |browser - host| logit difference ${maxDiff.toExponential(2)} <= ${TOL}`);
  const latency = await page.textContent('#latency');
  check(/^\d+(\.\d+)? ms$/.test(latency), `${label}: latency shown ("${latency}")`);
  return run;
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const server = await startServer();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => m.type() === 'error' && console.log(`page console: ${m.text()}`));
    await page.goto(`${server.url}demo/`);
    await page.waitForFunction(() => ['ready', 'error'].includes(window.moteDemo?.state), null, { timeout: 120000 });
    const ready = await page.evaluate(() => [window.moteDemo.state, window.moteDemo.error, document.getElementById('status').textContent]);
    if (ready[0] === 'error') throw new Error(`the demo did not load: ${ready[1]}`);
    console.log(`demo: ${ready[2]}`);
    check(ready[2].includes('simd128'), 'the runtime uses the simd128 kernels');

    // A bundled sample photo: its tensor is also the ONNX test set's input, so the top-1 must
    // be one of the reference top-5 in meta.json.
    const meta = JSON.parse(fs.readFileSync(path.join(data, 'models/efficientnet_lite0/meta.json'), 'utf8'));
    const set = Object.keys(meta.test_sets).find((k) => meta.test_sets[k] === 'chelsea');
    await page.click('#samples button:text-is("chelsea")');
    const cat = await compare(page, 'chelsea', 'chelsea');
    const ref = meta.top5[Number(set.split('_').pop())];
    check(ref.includes(cat.top5[0]), `chelsea: top-1 ${cat.top5[0]} is in the reference top-5 [${ref}]`);

    // A picked image file, decoded by the browser.
    const bmp = path.join(data, 'datasets/person_detection_tflm/person.bmp');
    await page.setInputFiles('#file', bmp);
    await compare(page, 'person.bmp', 'person.bmp');

    await page.click('#bench');
    await page.waitForFunction(() => window.moteDemo.bench || window.moteDemo.state === 'error', null, { timeout: 300000 });
    const bench = await page.evaluate(() => window.moteDemo.bench);
    if (bench) console.log(`chromium: efficientnet_lite0 invoke median ${bench.median.toFixed(1)} ms, min ${bench.min.toFixed(1)} ms (10 runs)`);
    await page.screenshot({ path: path.join(outDir, 'demo.png'), fullPage: true });
    console.log(`screenshot: ${path.join(outDir, 'demo.png')}`);
  } finally {
    await context.close();
    server.proc.kill();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => {
    console.log(`browser: ${passed} passed, ${failures.length} failed`);
    process.exit(failures.length ? 1 : 0);
  },
  (e) => {
    console.log(`FAILED: ${e.message}`);
    console.log(`browser: ${passed} passed, ${failures.length + 1} failed`);
    process.exit(1);
  },
);
