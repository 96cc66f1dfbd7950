// Mote in the browser: a thin wrapper over the wasm runtime's ABI (crates/mote-wasm).
//
//   const mote = await Mote.load('/mote.wasm');
//   const model = mote.loadModel(await (await fetch('/model.mote')).arrayBuffer());
//   const { outputs, ms } = model.run({ input: new Float32Array(3 * 224 * 224) });
//
// Errors are MoteError with a `status` name and the runtime's message.

/** Element type codes (docs/FORMAT.md) to names and typed arrays. */
const DTYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
  4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
  11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
  16: ['bfloat16', Uint16Array],
};

/** The ABI's status codes, in order. */
const STATUS = ['ok', 'null_argument', 'invalid_model', 'out_of_memory', 'no_such_tensor', 'input_length', 'run'];

const MODEL_ALIGN = 64;
// Scratch for out-parameters: TensorInfo at 0 (52 bytes), u32 out-params at 56/60/64, the load
// error text at 128.
const SCRATCH = 512, OUT = 56, ERR_WRITTEN = 60, LEN = 64, ERR = 128, ERR_CAP = 384;

export class MoteError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'MoteError';
    this.status = status;
  }
}

const utf8 = new TextDecoder();

export class Mote {
  /** Instantiates the runtime from a URL (streaming when served as application/wasm) or bytes. */
  static async load(source) {
    let instance;
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      ({ instance } = await WebAssembly.instantiate(source, {}));
    } else {
      const response = await fetch(source);
      if (!response.ok) throw new MoteError('fetch', `${source}: HTTP ${response.status}`);
      ({ instance } = await WebAssembly.instantiate(await response.arrayBuffer(), {}));
    }
    return new Mote(instance);
  }

  constructor(instance) {
    this.abi = instance.exports;
    this.scratch = this.abi.mote_wasm_alloc(SCRATCH, 8);
    if (!this.scratch) throw new MoteError('out_of_memory', 'no memory for the wrapper scratch');
  }

  /** The module's memory as it is now (it grows, which replaces the buffer). */
  bytes(ptr, len) {
    return new Uint8Array(this.abi.memory.buffer, ptr, len);
  }

  u32(ptr) {
    return new DataView(this.abi.memory.buffer).getUint32(ptr, true);
  }

  /** Calls an ABI function; a trap (a runtime bug) becomes a MoteError. */
  call(name, ...args) {
    try {
      return this.abi[name](...args);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        throw new MoteError('internal', `the runtime trapped in ${name} (a bug; please report it with the model): ${e.message}`);
      }
      throw e;
    }
  }

  /** Validates and loads a `.mote` file (ArrayBuffer or Uint8Array); the bytes are copied once. */
  loadModel(data) {
    const src = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (src.length === 0) throw new MoteError('invalid_model', 'empty model file');
    const ptr = this.call('mote_wasm_alloc', src.length, MODEL_ALIGN);
    if (!ptr) throw new MoteError('out_of_memory', `no memory for a model of ${src.length} bytes`);
    this.bytes(ptr, src.length).set(src);
    // The runtime owns `ptr` from here, on failure too.
    const s = this.call('mote_wasm_load', ptr, src.length, this.scratch + OUT, this.scratch + ERR, ERR_CAP, this.scratch + ERR_WRITTEN);
    if (s !== 0) {
      const msg = utf8.decode(this.bytes(this.scratch + ERR, this.u32(this.scratch + ERR_WRITTEN)).slice());
      throw new MoteError(STATUS[s] ?? `status ${s}`, msg);
    }
    return new Model(this, this.u32(this.scratch + OUT));
  }
}

/** A tensor's description: { name, dtype, shape, nbytes }. */
function describe(mote, handle, output, i) {
  const s = mote.call('mote_wasm_tensor', handle, output, i, mote.scratch);
  if (s !== 0) throw new MoteError(STATUS[s], `tensor ${i}: status ${STATUS[s]}`);
  const v = new DataView(mote.abi.memory.buffer, mote.scratch, 52);
  const name = utf8.decode(mote.bytes(v.getUint32(0, true), v.getUint32(4, true)).slice());
  const code = v.getUint32(8, true);
  const rank = v.getUint32(12, true);
  const shape = Array.from({ length: rank }, (_, d) => v.getUint32(16 + 4 * d, true));
  return { name, code, dtype: DTYPES[code]?.[0] ?? `code ${code}`, shape, nbytes: v.getUint32(48, true) };
}

export class Model {
  constructor(mote, handle) {
    this.mote = mote;
    this.handle = handle;
    const count = (output) => mote.call('mote_wasm_count', handle, output);
    this.inputs = Array.from({ length: count(0) }, (_, i) => describe(mote, handle, 0, i));
    this.outputs = Array.from({ length: count(1) }, (_, i) => describe(mote, handle, 1, i));
    this.arenaSize = mote.call('mote_wasm_arena_size', handle);
    const isa = mote.call('mote_wasm_isa', handle, mote.scratch + LEN);
    this.isa = utf8.decode(mote.bytes(isa, mote.u32(mote.scratch + LEN)).slice());
  }

  lastError() {
    const ptr = this.mote.call('mote_wasm_last_error', this.handle);
    return utf8.decode(this.mote.bytes(ptr, this.mote.call('mote_wasm_last_error_len', this.handle)).slice());
  }

  check(status) {
    if (status !== 0) throw new MoteError(STATUS[status] ?? `status ${status}`, this.lastError());
  }

  /**
   * Runs the model. `inputs` maps input names to typed arrays of the input's element type and
   * size (or is an array in input order). Returns { outputs: { name: { data, shape, dtype } },
   * ms } with `ms` the time of the invoke alone.
   */
  run(inputs) {
    if (!this.handle) throw new MoteError('null_argument', 'the model was freed');
    this.inputs.forEach((t, i) => {
      const data = Array.isArray(inputs) ? inputs[i] : inputs[t.name];
      const want = DTYPES[t.code]?.[1];
      if (!data) throw new MoteError('input_length', `missing input '${t.name}' (${t.dtype} [${t.shape}])`);
      if (want && !(data instanceof want)) {
        throw new MoteError('input_length', `input '${t.name}' wants a ${want.name} (${t.dtype} [${t.shape}]), got ${data.constructor.name}`);
      }
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const ptr = this.mote.call('mote_wasm_input', this.handle, i, bytes.length);
      if (!ptr) throw new MoteError('input_length', this.lastError());
      this.mote.bytes(ptr, bytes.length).set(bytes);
    });
    const t0 = performance.now();
    const status = this.mote.call('mote_wasm_invoke', this.handle);
    const ms = performance.now() - t0;
    this.check(status);
    const outputs = {};
    this.outputs.forEach((t, i) => {
      const ptr = this.mote.call('mote_wasm_output', this.handle, i);
      if (!ptr) throw new MoteError('no_such_tensor', this.lastError());
      const copy = this.mote.bytes(ptr, t.nbytes).slice().buffer;
      const Ctor = DTYPES[t.code]?.[1] ?? Uint8Array;
      outputs[t.name] = { data: new Ctor(copy), shape: t.shape, dtype: t.dtype };
    });
    return { outputs, ms };
  }

  /** Frees the model, its bytes and its arena in the module's memory. */
  free() {
    if (this.handle) this.mote.call('mote_wasm_model_free', this.handle);
    this.handle = 0;
  }
}
