// Randomness as a parameter: seeded (sfc32) for the simulator and tests, crypto for real nodes.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  bytes(n: number): Uint8Array;
}

function fromNext(next: () => number, bytes?: (n: number) => Uint8Array): Rng {
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes:
      bytes ??
      ((n) => {
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
        return out;
      }),
  };
}

/** Deterministic generator from a 32-bit seed (sfc32, seeded through splitmix32). */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  // The state lives in a typed array, not in closure variables: a context slot holding a number above
  // 2^31 is a boxed heap number, so every draw allocated four (one draw per simulated frame).
  const st = new Uint32Array(4);
  st[0] = split();
  st[1] = split();
  st[2] = split();
  st[3] = split();
  const next = () => {
    const a = st[0]!;
    const b = st[1]!;
    const c = st[2]!;
    const d = st[3]!;
    const t = (((a + b) >>> 0) + d) >>> 0;
    st[3] = d + 1;
    st[0] = b ^ (b >>> 9);
    st[1] = c + (c << 3);
    const r = (c << 21) | (c >>> 11);
    st[2] = r + t;
    return t / 4294967296;
  };
  return fromNext(next);
}

/** Cryptographic randomness of the platform (Web Crypto, also in Node 20). */
export function cryptoRng(): Rng {
  const bytes = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));
  const next = () => {
    const u = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    return u / 4294967296;
  };
  return fromNext(next, bytes);
}

/** Exponentially distributed sample with the given mean. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

/** Pareto (heavy-tailed) sample with the given mean and shape alpha > 1. */
export function pareto(rng: Rng, mean: number, alpha = 1.5): number {
  const xm = (mean * (alpha - 1)) / alpha;
  return xm / Math.pow(1 - rng.next(), 1 / alpha);
}

export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
