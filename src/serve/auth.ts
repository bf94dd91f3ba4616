/**
 * API keys and rate limits. Keys are stored hashed (SHA-256 hex) in a JSON keys file
 * `{ "keys": [{ "name": "ops", "sha256": "<hex>" }] }`; a request proves a key with
 * `Authorization: Bearer <key>`. Rate limits are token buckets per key (or per client IP without one).
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes } from '../util/fs.ts';

/**
 * One stored key: a name for logs and history, and the SHA-256 of the secret.
 *
 * @example
 * const k: ApiKey = { name: 'ops', sha256: hashApiKey('s3cret') };
 */
export interface ApiKey {
  name: string;
  sha256: string;
}

/**
 * The SHA-256 hex digest under which a key is stored.
 *
 * @example
 * hashApiKey('s3cret'); // '4e7…'
 */
export function hashApiKey(key: string): string {
  return sha256Bytes(key);
}

/**
 * Reads a keys file; throws `E_API_KEYS` naming the file and entry when it is malformed.
 *
 * @example
 * const keys = await readApiKeys('keys.json');
 */
export async function readApiKeys(file: string): Promise<ApiKey[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new SwitchyardError('E_API_KEYS', `${file}: cannot read the API keys file (${(e as Error).message})`, 'write { "keys": [{ "name": "ops", "sha256": "<sha256 hex of the key>" }] }');
  }
  const keys = (json as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new SwitchyardError('E_API_KEYS', `${file}: no "keys" array`, 'write { "keys": [{ "name": "ops", "sha256": "<hex>" }] }');
  return keys.map((k, i) => {
    const o = k as Partial<ApiKey>;
    if (typeof o?.name !== 'string' || typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(o.sha256)) {
      throw new SwitchyardError('E_API_KEYS', `${file}: keys[${i}] needs a "name" and a 64-hex-digit "sha256"`, 'store the SHA-256 of each key, never the key itself');
    }
    return { name: o.name, sha256: o.sha256.toLowerCase() };
  });
}

/**
 * Checks `Authorization: Bearer <key>` headers against hashed keys.
 *
 * @example
 * const auth = new KeyChecker([{ name: 'ops', sha256: hashApiKey('s3cret') }]);
 * auth.check('Bearer s3cret'); // { name: 'ops', sha256: '…' }
 * auth.check('Bearer nope');   // null
 */
export class KeyChecker {
  private readonly digests: { key: ApiKey; buf: Buffer }[];
  constructor(keys: readonly ApiKey[]) {
    this.digests = keys.map((key) => ({ key, buf: Buffer.from(key.sha256, 'hex') }));
  }

  /** Whether any key is configured. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The key an `Authorization` header proves, or null. */
  check(header: string | undefined): ApiKey | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return null;
    const got = Buffer.from(hashApiKey(m[1]), 'hex');
    let found: ApiKey | null = null;
    for (const d of this.digests) if (timingSafeEqual(d.buf, got)) found = d.key;
    return found;
  }
}

/**
 * Token buckets per identity: `rate` tokens per second, at most `burst` saved up.
 *
 * @example
 * const rl = new RateLimiter({ rate: 10, burst: 20 });
 * rl.take('ip:127.0.0.1'); // { ok: true } … then { ok: false, retryAfterS: 1 }
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly o: { rate: number; burst?: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `id`; when none is left, says how many whole seconds until one is. */
  take(id: string): { ok: true } | { ok: false; retryAfterS: number } {
    const burst = this.o.burst ?? Math.max(1, this.o.rate);
    const t = this.now();
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      this.buckets.set(id, (b = { tokens: burst, at: t }));
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * this.o.rate);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / this.o.rate)) };
  }
}
