// The next token, as textgen/sampling.py's choose_tokens chooses it: `<unk>` never; temperature 0
// the likeliest token; else the tempered distribution cut to the top-k tokens (0: off) and to the
// smallest set of likeliest tokens whose probability reaches top-p (1: off), sampled by the inverse of
// its CDF in vocabulary order at one random number. tests/test_webpage.py holds it to the Python.
const UNK = 1;

function choose(logits, temperature, topK, topP, random) {
  const scores = Float64Array.from(logits);
  scores[UNK] = -Infinity; // a class of rare words, never a word to print
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  if (temperature === 0) return best;
  const weights = scores.map((s) => Math.exp((s - scores[best]) / temperature));
  if ((topK > 0 && topK < scores.length) || topP < 1) {
    // Likeliest first, ties by id (torch's stable sort); the first always stays.
    const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
    const k = topK > 0 ? Math.min(topK, order.length) : order.length;
    let kept = 0;
    for (let r = 0; r < k; r++) kept += weights[order[r]];
    let before = 0;
    for (let r = 0; r < order.length; r++) {
      const i = order[r];
      const w = weights[i];
      if (r >= k || (topP < 1 && before / kept >= topP)) weights[i] = 0;
      before += w;
    }
  }
  let total = 0;
  for (const w of weights) total += w;
  let target = random() * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i];
    if (target < 0 && weights[i] > 0) return i;
  }
  return weights.findLastIndex((w) => w > 0);
}

if (typeof module !== "undefined") module.exports = { choose };
