// EfficientNet-Lite0's preprocessing, as ../shared/data/make_refs.py does it (meta.json:
// "center square crop of 87.5% of the short side, bilinear resize 224x224, RGB, (p-127)/128,
// NCHW"), in plain arithmetic so the browser and the host get the same tensor.

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * `img` is { width, height, channels, data } with 1 (gray), 3 (RGB) or 4 (RGBA) interleaved
 * uint8 channels. Returns a Float32Array [1, 3, size, size].
 */
export function preprocess(img, size = 224, frac = 0.875) {
  const { width: w, height: h, channels: ch, data } = img;
  if (![1, 3, 4].includes(ch)) throw new Error(`images with ${ch} channels are not supported`);
  const c = roundHalfEven(Math.min(h, w) * frac);
  if (c < 1) throw new Error(`image of ${w}x${h} is too small`);
  const y0 = Math.floor((h - c) / 2), x0 = Math.floor((w - c) / 2);
  // Source positions: half-pixel centres, clamped to the crop's edge.
  const taps = () => Array.from({ length: size }, (_, i) => {
    const p = Math.min(Math.max(((i + 0.5) * c) / size - 0.5, 0), c - 1);
    const lo = Math.floor(p);
    return [lo, Math.min(lo + 1, c - 1), Math.fround(p - lo)];
  });
  const ys = taps(), xs = ys;
  const px = (y, x, k) => data[((y0 + y) * w + x0 + x) * ch + (ch === 1 ? 0 : k)];
  const out = new Float32Array(3 * size * size);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < size; i++) {
      const [ya, yb, wy] = ys[i];
      for (let j = 0; j < size; j++) {
        const [xa, xb, wx] = xs[j];
        const a = px(ya, xa, k), b = px(ya, xb, k), cc = px(yb, xa, k), d = px(yb, xb, k);
        const top = Math.fround(a + Math.fround(Math.fround(b - a) * wx));
        const bot = Math.fround(cc + Math.fround(Math.fround(d - cc) * wx));
        const v = Math.fround(top + Math.fround(Math.fround(bot - top) * wy));
        out[(k * size + i) * size + j] = Math.fround(Math.fround(v - 127) / 128);
      }
    }
  }
  return out;
}

/** Parses a .npy of uint8 [H, W] or [H, W, 3] into the image form `preprocess` takes. */
export function parseNpyImage(buffer) {
  const u8 = new Uint8Array(buffer);
  const magic = String.fromCharCode(...u8.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error('not a .npy file');
  const v = new DataView(buffer);
  const [hlen, start] = u8[6] === 1 ? [v.getUint16(8, true), 10] : [v.getUint32(8, true), 12];
  const header = new TextDecoder().decode(u8.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (descr !== '|u1' || /'fortran_order':\s*True/.test(header)) throw new Error(`wants C-order uint8, got ${descr}`);
  if (!(shape.length === 2 || (shape.length === 3 && shape[2] === 3))) throw new Error(`wants [H, W] or [H, W, 3], got [${shape}]`);
  const data = u8.subarray(start + hlen);
  const [height, width] = shape;
  const channels = shape[2] ?? 1;
  if (data.length < height * width * channels) throw new Error('truncated .npy');
  return { width, height, channels, data };
}
