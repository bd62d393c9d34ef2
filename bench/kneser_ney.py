"""An interpolated Kneser-Ney trigram model over token ids: the strongest simple baseline."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise


class KneserNeyTrigram:
    def __init__(self, vocab_size: int, discount: float = 0.75):
        self.vocab_size = vocab_size
        self.d = discount

    def fit(self, ids: list[int]) -> KneserNeyTrigram:
        trigrams = Counter(zip(ids, ids[1:], ids[2:]))
        bigrams = Counter(pairwise(ids))
        self.tri = trigrams
        self.context2 = Counter()  # c(u v .)
        self.followers2 = Counter()  # |{w: c(u v w) > 0}|
        for (u, v, _), n in trigrams.items():
            self.context2[(u, v)] += n
            self.followers2[(u, v)] += 1
        # Continuation counts for the lower orders: in how many contexts a token appears.
        self.cont2 = Counter((v, w) for (_, v, w) in trigrams)  # N1+(. v w)
        self.cont2_total = Counter()  # sum_w N1+(. v w)
        self.followers1 = Counter()  # |{w: N1+(. v w) > 0}|
        for (v, _), n in self.cont2.items():
            self.cont2_total[v] += n
            self.followers1[v] += 1
        self.cont1 = Counter(w for (_, w) in bigrams)  # N1+(. w)
        self.cont1_total = sum(self.cont1.values())
        return self

    def unigram(self, w: int) -> float:
        # Add-one on continuation counts, so tokens never seen after anything keep some mass.
        return (self.cont1[w] + 1) / (self.cont1_total + self.vocab_size)

    def bigram(self, v: int, w: int) -> float:
        total = self.cont2_total[v]
        if total == 0:
            return self.unigram(w)
        return (max(self.cont2[(v, w)] - self.d, 0) + self.d * self.followers1[v] * self.unigram(w)) / total

    def prob(self, u: int, v: int, w: int) -> float:
        total = self.context2[(u, v)]
        if total == 0:
            return self.bigram(v, w)
        backoff = self.d * self.followers2[(u, v)] * self.bigram(v, w)
        return (max(self.tri[(u, v, w)] - self.d, 0) + backoff) / total

    def nats(self, ids: list[int], context: tuple[int, int]) -> float:
        """Total negative log-likelihood of `ids` following `context`."""
        padded = [*context, *ids]
        return -sum(math.log(self.prob(u, v, w)) for u, v, w in zip(padded, padded[1:], padded[2:]))
