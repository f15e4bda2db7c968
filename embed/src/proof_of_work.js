// Proof of work: the first number n with sha256(salt + n) starting with `bits` zero bits.
const BATCH = 256;

export async function solveChallenge({ salt, bits }) {
  const encoder = new TextEncoder();
  for (let start = 0; ; start += BATCH) {
    const hashes = await Promise.all(
      Array.from({ length: BATCH }, (_, i) => crypto.subtle.digest('SHA-256', encoder.encode(salt + (start + i)))),
    );
    const found = hashes.findIndex((hash) => !(new DataView(hash).getUint32(0) >>> (32 - bits)));
    if (found >= 0) return { salt, number: start + found };
  }
}
