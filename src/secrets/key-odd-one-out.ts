import type { UpstreamErrorKind } from "../providers/upstream-error.js";
import { ABOUT_THE_REQUEST, standsOut, type OddOneOut } from "./canary-odd-one-out.js";
import type { AttemptOutcome } from "./key-health.js";
import { shareOf } from "./key-selection.js";
import type { PoolKey } from "./pool-key.js";

/**
 * How unlikely a key's part of a kind's answers must be, were it no different
 * from the other keys, to bench it: stricter than a canary's (1e-4), as an
 * active key is judged for as long as it serves, not over one trial, and a
 * bench takes it from every caller. Two keys: 20 answers in a row.
 */
const SIGNIFICANCE = 1e-6;

/** A model's answers are counted in generations of this long; the last one still counts (5 to 10 min of answers in all). */
const GENERATION_MS = 5 * 60_000;

/** Models watched at once, the least recently answered forgotten first. Only a model some key served is watched. */
const MAX_MODELS = 256;

/** One key's answers for one model over a generation. */
interface KeyAnswers {
  successes: number;
  /** Its answers about the request, by kind. */
  answered: Map<UpstreamErrorKind, number>;
  /** Of every answer of each kind (whichever key had it), the part that would have been this key's by its share of the traffic then. */
  expected: Map<UpstreamErrorKind, number>;
}

interface Generation {
  /** Answers about the request of each kind, whichever key had them. */
  answers: Map<UpstreamErrorKind, number>;
  keys: Map<string, KeyAnswers>;
}

interface ModelWatch {
  startedAt: number;
  current: Generation;
  previous: Generation | undefined;
}

/**
 * Whether an active key is answered about the request (a model's 404, a 400,
 * a blocked prompt: ABOUT_THE_REQUEST) where the other keys of its pool are
 * served, on the same model: a key whose project lost access to a model, or
 * moved to another project, gets nothing but 404s for it while the others
 * answer. Such answers are usually the caller's doing, so each is weighed
 * against the other keys' on the same model (CanaryOddOneOut's rule,
 * `standsOut`):
 * - each answer of a kind counts as the answering key's, and is expected of
 *   every key by its share of the traffic as the pool stood when it came (a
 *   key's cool-down, when the others take all calls, predicts none for it):
 *   a caller's bad requests reach every key by its share, whenever they are
 *   sent, and never make one stand out;
 * - only a model that another key served lately is judged: a model no key can
 *   use (all of them answer 404 alike) never benches one, and a name never
 *   served is not even remembered (callers name models at will);
 * - answers to calls not handed out by share (a probe, a key benched since)
 *   count for no one.
 * Answers are kept for 5 to 10 minutes per model, so old evidence fades.
 */
export class KeyOddOneOut {
  private readonly models = new Map<string, ModelWatch>();

  constructor(private readonly now: () => number) {}

  /** Hears one outcome of `key` among `keys` (the pool as it stood before the outcome): a success, or an answer about the request. */
  hear(keys: readonly PoolKey[], key: PoolKey, outcome: AttemptOutcome): void {
    if (outcome.model === undefined) return;
    if (outcome.ok) {
      answersOf(this.watch(outcome.model, true)!.current, key).successes++;
      return;
    }
    const kind = outcome.error.kind;
    if (!ABOUT_THE_REQUEST.has(kind) || shareOf(keys, key) <= 0) return;
    const watch = this.watch(outcome.model, false);
    if (!watch) return; // no key served the model lately: nothing to weigh it against
    const generation = watch.current;
    add(generation.answers, kind, 1);
    add(answersOf(generation, key).answered, kind, 1);
    for (const other of keys) {
      const share = shareOf(keys, other);
      if (share > 0) add(answersOf(generation, other).expected, kind, share);
    }
  }

  /** Whether the key's answers of this kind for the model (the last one heard already) stand out against the other keys': then it is to be benched. */
  judge(key: PoolKey, model: string | undefined, kind: UpstreamErrorKind, minExcess: number): OddOneOut | undefined {
    if (model === undefined || !ABOUT_THE_REQUEST.has(kind)) return undefined;
    const watch = this.watch(model, false);
    if (!watch) return undefined;
    let mine = 0;
    let expected = 0;
    let answers = 0;
    let othersServed = 0;
    for (const generation of generationsOf(watch)) {
      answers += generation.answers.get(kind) ?? 0;
      for (const [id, tally] of generation.keys) {
        if (id !== key.credential.id) othersServed += tally.successes;
        else {
          mine += tally.answered.get(kind) ?? 0;
          expected += tally.expected.get(kind) ?? 0;
        }
      }
    }
    // The other keys must have served the model: else they are answered alike (a model no key can use).
    if (othersServed < 1 || !standsOut(mine, expected, answers, minExcess, SIGNIFICANCE)) return undefined;
    const predicted = expected.toFixed(1);
    return { kind, detail: `${kind} for model ${JSON.stringify(model)} on ${mine} of the pool's ${answers}, where its share of the traffic predicts ${predicted}; the other keys served it ${othersServed} times` };
  }

  /** Whether the key served the model lately (5 to 10 minutes). */
  served(model: string, key: PoolKey): boolean {
    const watch = this.watch(model, false);
    return watch !== undefined && generationsOf(watch).some((generation) => (generation.keys.get(key.credential.id)?.successes ?? 0) > 0);
  }

  /** The model's watch, its generations moved on to now; made when `create` (a success), the least recently used dropped past MAX_MODELS. */
  private watch(model: string, create: boolean): ModelWatch | undefined {
    const now = this.now();
    let watch = this.models.get(model);
    if (watch) {
      this.models.delete(model);
      const age = now - watch.startedAt;
      if (age >= GENERATION_MS) {
        watch.previous = age < 2 * GENERATION_MS ? watch.current : undefined;
        watch.current = newGeneration();
        watch.startedAt = now;
      }
    } else if (create) {
      watch = { startedAt: now, current: newGeneration(), previous: undefined };
      if (this.models.size >= MAX_MODELS) this.models.delete(this.models.keys().next().value!);
    }
    if (watch) this.models.set(model, watch); // the most recently used last
    return watch;
  }
}

function newGeneration(): Generation {
  return { answers: new Map(), keys: new Map() };
}

function generationsOf(watch: ModelWatch): Generation[] {
  return watch.previous ? [watch.previous, watch.current] : [watch.current];
}

function answersOf(generation: Generation, key: PoolKey): KeyAnswers {
  let answers = generation.keys.get(key.credential.id);
  if (!answers) generation.keys.set(key.credential.id, (answers = { successes: 0, answered: new Map(), expected: new Map() }));
  return answers;
}

function add(counts: Map<UpstreamErrorKind, number>, kind: UpstreamErrorKind, n: number): void {
  counts.set(kind, (counts.get(kind) ?? 0) + n);
}
