// Minimal .npy for float32 C-order tensors (the browser test's hand-off to `mote run`).
import fs from 'node:fs';

export function writeNpyF32(file, data, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export function readNpyF32(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const [hlen, start] = b[6] === 1 ? [b.readUInt16LE(8), 10] : [b.readUInt32LE(8), 12];
  const header = b.toString('latin1', start, start + hlen);
  if (!header.includes("'descr': '<f4'")) throw new Error(`${file}: not float32 (${header.trim()})`);
  const body = b.subarray(start + hlen);
  return new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
}
