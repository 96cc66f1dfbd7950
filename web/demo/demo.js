// The demo: load the runtime and EfficientNet-Lite0, classify a picked file or a sample photo,
// show the top-5 classes and the latency. `window.moteDemo` exposes the last input and output
// for scripts/browser-test.sh.
import { Mote } from '../mote.js';
import { preprocess, parseNpyImage } from './preprocess.js';

const $ = (id) => document.getElementById(id);
const demo = (window.moteDemo = { state: 'loading', runs: 0 });

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : 'muted';
}

/** Shows the image on the canvas (RGBA); returns it unchanged. */
function show(img) {
  const c = $('view');
  c.width = img.width;
  c.height = img.height;
  const rgba = new ImageData(img.width, img.height);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let k = 0; k < 3; k++) rgba.data[4 * p + k] = img.data[p * img.channels + (img.channels === 1 ? 0 : k)];
    rgba.data[4 * p + 3] = 255;
  }
  c.getContext('2d').putImageData(rgba, 0, 0);
  return img;
}

/** Decodes a picked file through a canvas into RGBA pixels. */
async function decodeFile(file) {
  const bitmap = await createImageBitmap(file);
  const c = $('view');
  c.width = bitmap.width;
  c.height = bitmap.height;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  return { width: bitmap.width, height: bitmap.height, channels: 4, data };
}

function classify(model, img, source) {
  const input = preprocess(img, model.inputs[0].shape[2]);
  const { outputs, ms } = model.run({ [model.inputs[0].name]: input });
  const logits = outputs[model.outputs[0].name].data;
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const top5 = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  $('top5').tBodies[0].innerHTML = top5
    .map((c, r) => `<tr><td>${r + 1}</td><td>class ${c}</td><td>${(exp[c] / sum).toFixed(3)}</td><td>${logits[c].toFixed(3)}</td></tr>`)
    .join('');
  $('latency').textContent = `${ms.toFixed(1)} ms`;
  Object.assign(demo, { state: 'done', runs: demo.runs + 1, source, input, logits, top5, ms });
  setStatus(`${source}: ${img.width}x${img.height}, ${model.isa} kernels`);
}

async function main() {
  const t0 = performance.now();
  const mote = await Mote.load('/mote.wasm');
  const bytes = await (await fetch('/models/efficientnet_lite0.mote')).arrayBuffer();
  const model = mote.loadModel(bytes);
  demo.loadMs = performance.now() - t0;
  setStatus(`ready: ${(bytes.byteLength / 1e6).toFixed(1)} MB model, arena ${(model.arenaSize / 1e6).toFixed(1)} MB, ` +
    `${model.isa} kernels, loaded in ${demo.loadMs.toFixed(0)} ms`);
  demo.state = 'ready';
  const guard = (f) => async (...a) => {
    try {
      await f(...a);
    } catch (e) {
      demo.state = 'error';
      demo.error = String(e.message ?? e);
      setStatus(`error: ${demo.error}`, true);
    }
  };
  $('file').addEventListener('change', guard(async (e) => {
    const file = e.target.files[0];
    if (file) classify(model, await decodeFile(file), file.name);
  }));
  const names = await (await fetch('/samples/index.json')).json();
  for (const name of names) {
    const b = document.createElement('button');
    b.textContent = name;
    b.addEventListener('click', guard(async () => {
      const npy = await (await fetch(`/samples/${name}.npy`)).arrayBuffer();
      classify(model, show(parseNpyImage(npy)), name);
    }));
    $('samples').append(b);
  }
  $('bench').disabled = false;
  $('bench').addEventListener('click', guard(async () => {
    if (!demo.input) throw new Error('classify an image first');
    const times = [];
    for (let i = 0; i < 10; i++) times.push(model.run({ [model.inputs[0].name]: demo.input }).ms);
    times.sort((a, b) => a - b);
    demo.bench = { median: (times[4] + times[5]) / 2, min: times[0] };
    $('benchResult').textContent = `median ${demo.bench.median.toFixed(1)} ms, min ${times[0].toFixed(1)} ms`;
  }));
}

main().catch((e) => {
  demo.state = 'error';
  demo.error = String(e.message ?? e);
  setStatus(`error: ${demo.error}`, true);
});
