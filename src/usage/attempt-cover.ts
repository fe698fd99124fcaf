/**
 * What one attempt may add to a call's cost, in nano-units: its prompt,
 * which the call is charged should the attempt be cut after it went out (a
 * timeout, a hedge's loser); and the rest of its bound, should it answer.
 */
export interface AttemptCost {
  prompt: number;
  answer: number;
}

/**
 * The most a call can cost once these attempts went out: one of them answers
 * (its prompt and its answer), every other one is charged its prompt. The
 * budget reservation made at admission covers the first attempt (the bound of
 * the dearest candidate); before each further attempt the reservation grows
 * by what this cover, with that attempt among `attempts`, exceeds it by:
 * usually that attempt's prompt at its own price. So however many attempts a
 * call makes, it is never charged more than it held.
 */
export function coverOf(attempts: readonly AttemptCost[]): number {
  let prompts = 0;
  let answer = 0;
  for (const attempt of attempts) {
    prompts += attempt.prompt;
    answer = Math.max(answer, attempt.answer);
  }
  return prompts + answer;
}
