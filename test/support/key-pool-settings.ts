/**
 * `key_pool` settings under which no key is ever benched: a 429's retry-after
 * or an exhausted quota cools nothing down, and a rejected key is probed on
 * the very next call. For tests that map one scripted vendor failure after
 * another through a single-key gateway; test/secrets tests the pool itself.
 */
export const EVERY_CALL_REACHES_THE_VENDOR = { max_cooldown_ms: 0, probe_after_ms: 0 } as const;
