// A static server for the demo (no dependencies): web/ at /, the built runtime and model from
// out/web/ at /mote.wasm and /models/, the sample photos from ../shared/data at /samples/.
//
//   node web/serve.mjs [--port 8080] [--out out/web] [--data ../shared/data]
//
// Prints "listening on http://127.0.0.1:PORT/" once ready (port 0 picks a free one).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const port = Number(arg('port', '8080'));
const out = path.resolve(repo, arg('out', 'out/web'));
const images = path.resolve(repo, arg('data', '../shared/data'), 'datasets/images');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.css': 'text/css',
};

/** `rel` inside `root`, or null when it would leave it. */
function inside(root, rel) {
  const p = path.resolve(root, '.' + path.posix.normalize('/' + rel));
  return p === root || p.startsWith(root + path.sep) ? p : null;
}

/** The uint8 [H, W] or [H, W, 3] .npy files among the shared photos. */
function samples() {
  if (!fs.existsSync(images)) return [];
  return fs.readdirSync(images).filter((f) => f.endsWith('.npy')).sort().filter((f) => {
    const head = Buffer.alloc(128);
    const fd = fs.openSync(path.join(images, f), 'r');
    fs.readSync(fd, head, 0, 128, 0);
    fs.closeSync(fd);
    const h = head.toString('latin1');
    return h.includes("'descr': '|u1'") && /'shape': \(\d+, \d+(, 3)?\)/.test(h);
  }).map((f) => f.slice(0, -4));
}

function route(url) {
  if (url === '/') return { redirect: '/demo/' };
  if (url === '/samples/index.json') return { json: samples() };
  if (url === '/mote.wasm') return { file: path.join(out, 'mote.wasm') };
  if (url.startsWith('/models/')) return { file: inside(out, url.slice('/models/'.length)) };
  if (url.startsWith('/samples/')) return { file: inside(images, url.slice('/samples/'.length)) };
  const file = inside(here, url.endsWith('/') ? url + 'index.html' : url);
  return { file };
}

const server = http.createServer((req, res) => {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const r = route(url);
  if (r.redirect) {
    res.writeHead(302, { location: r.redirect }).end();
  } else if (r.json) {
    res.writeHead(200, { 'content-type': TYPES['.json'] }).end(JSON.stringify(r.json));
  } else if (r.file && fs.existsSync(r.file) && fs.statSync(r.file).isFile()) {
    const type = TYPES[path.extname(r.file)] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': fs.statSync(r.file).size, 'cache-control': 'no-store' });
    fs.createReadStream(r.file).pipe(res);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url}\n`);
  }
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
