// The signature schemes a test runs a protocol under: Ed25519 as a browser checks it (natively, off the
// main thread), and Ed25519 checked on the spot in JavaScript (where WebCrypto has no Ed25519, and the
// way the simulator's scheme is used).
import { ed25519Scheme, type SignatureScheme } from '../../../src/core/identity.ts';

export const ed25519SyncOnly: SignatureScheme = { name: 'ed25519-sync', verify: ed25519Scheme.verify, idOf: ed25519Scheme.idOf };

export const BOTH_CHECKS: Array<[string, SignatureScheme]> = [
  ['checked natively', ed25519Scheme],
  ['checked in JavaScript', ed25519SyncOnly],
];
