// textgen's sampler in the browser: the model's one-step ONNX function run by onnxruntime-web,
// token by token, off the page's thread. It mirrors textgen/sampling.py: `<eos>` first, then the
// seed's tokens, then one step per token, each chosen by sampler.js as choose_tokens chooses.
importScripts("ort/ort.wasm.min.js", "sampler.js");
ort.env.wasm.wasmPaths = new URL("ort/", self.location.href).href;
ort.env.wasm.numThreads = 1; // a static Space is not cross-origin isolated: no shared memory

const EOS = 0;
// textgen/tokenizer.py WORD_PATTERN: a word (inner ' ’ . , allowed) or a mark, with the space before
// it; line breaks; runs of other whitespace. Python's \w is a Unicode letter, number or "_".
const WORD_PATTERN = / ?[\p{L}\p{N}_]+(?:['’.,][\p{L}\p{N}_]+)*| ?[^\p{L}\p{N}_\s]|\n|[^\S\n]+(?!\S)|[^\S\n]+/gu;

let session = null;
let tokenizer = null;
let config = null;
let index = null;
let running = 0; // the run in progress; a new one (or Stop) ends the one before

async function load() {
  const [tok, cfg] = await Promise.all([
    fetch("tokenizer.json").then((r) => r.json()),
    fetch("config.json").then((r) => r.json()),
  ]);
  session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  tokenizer = tok;
  config = cfg;
  index = new Map(tok.vocab.map((token, id) => [token, id]));
}

function encode(text) {
  const prepared = tokenizer.lowercase ? text.toLowerCase() : text;
  const pieces = tokenizer.level === "word" ? prepared.match(WORD_PATTERN) || [] : Array.from(prepared);
  return pieces.map((piece) => (index.has(piece) ? index.get(piece) : UNK));
}

// A label's control token (textgen/labelled.py: a character of Private Use Area-B) writes nothing.
const LABEL = /[\u{100000}-\u{10FFFD}]/u;

function piece(id) {
  if (id === EOS) return "\n";
  const token = tokenizer.vocab[id];
  return LABEL.test(token) ? "" : token;
}

async function step(token, h, c) {
  const feeds = {
    tokens: new ort.Tensor("int64", BigInt64Array.from([BigInt(token)]), [1]),
    h,
    c,
  };
  const out = await session.run(feeds);
  return [out.logits.data, out.h_out, out.c_out];
}

// mulberry32: a small seeded generator, so that a link with `rseed` writes the same text again.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zeros(shape) {
  return new ort.Tensor("float32", new Float32Array(shape[0] * shape[1] * shape[2]), shape);
}

function logSoftmax(logits, token) {
  let top = -Infinity;
  for (const s of logits) top = Math.max(top, s);
  let total = 0;
  for (const s of logits) total += Math.exp(s - top);
  return logits[token] - top - Math.log(total);
}

// Writing as "any" label draws one from the model's posterior given the seed, as labelled.py does:
// p(L | seed) ∝ p(L | <eos>) p(seed | <eos>, L), the seed's first POSTERIOR_TOKENS weighing them.
const FIRST_LABEL = 0x100000;
const POSTERIOR_TOKENS = 200;

async function labelled(labels, label, tokens, h, c, logits, random, run) {
  const ids = labels.map((_, i) => index.get(String.fromCodePoint(FIRST_LABEL + i)));
  const candidates = label === null ? ids.map((_, i) => i).filter((i) => ids[i] !== undefined) : [label];
  const scored = [];
  for (const i of candidates) {
    let score = logSoftmax(logits, ids[i]);
    let [l, hi, ci] = await step(ids[i], h, c);
    for (const token of tokens.slice(0, POSTERIOR_TOKENS)) {
      score += logSoftmax(l, token);
      [l, hi, ci] = await step(token, hi, ci);
      if (run !== running) return null;
    }
    scored.push({ score, state: [l, hi, ci] });
  }
  let chosen = 0;
  if (scored.length > 1) {
    const top = Math.max(...scored.map((s) => s.score));
    const weights = scored.map((s) => Math.exp(s.score - top));
    let target = random() * weights.reduce((a, b) => a + b, 0);
    chosen = weights.findIndex((w) => (target -= w) < 0);
    if (chosen < 0) chosen = weights.length - 1;
  }
  let [l, hi, ci] = scored[chosen].state;
  for (const token of tokens.slice(POSTERIOR_TOKENS)) {
    [l, hi, ci] = await step(token, hi, ci);
    if (run !== running) return null;
  }
  return [l, hi, ci];
}

async function write({ seed, temperature, length, topK, topP = 1, randomSeed, labels = [], label = null }) {
  const run = ++running;
  const shape = [config.num_layers, 1, config.hidden_size];
  let h = zeros(shape);
  let c = zeros(shape);
  let logits;
  const random = generator(randomSeed);
  const tokens = encode(seed);
  if (labels.length) {
    [logits, h, c] = await step(EOS, h, c);
    const state = await labelled(labels, label, tokens, h, c, logits, random, run);
    if (state === null) return;
    [logits, h, c] = state;
  } else {
    for (const token of [EOS, ...tokens]) {
      [logits, h, c] = await step(token, h, c);
      if (run !== running) return;
    }
  }
  for (let i = 0; i < length; i++) {
    const token = choose(logits, temperature, topK, topP, random);
    self.postMessage({ type: "piece", text: piece(token) });
    if (token === EOS) [h, c] = [zeros(shape), zeros(shape)]; // a new document starts from the zero state
    if (i + 1 < length) [logits, h, c] = await step(token, h, c);
    if (run !== running) return;
  }
  self.postMessage({ type: "done" });
}

const loading = load();
self.onmessage = async (event) => {
  try {
    await loading;
    self.postMessage({ type: "ready" });
    if (event.data.type === "write") await write(event.data);
    if (event.data.type === "stop") running++;
  } catch (error) {
    self.postMessage({ type: "error", text: String(error) });
  }
};
