import { ConnectError } from "@connectrpc/connect";

/** Awaits a call that must fail and returns its error as a ConnectError; a call that succeeds fails the test. */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

/** `failure` that also keeps each error's message in `seen`, for a final check that none shows a secret. */
export function failureRecordedIn(seen: string[]): (call: Promise<unknown>) => Promise<ConnectError> {
  return async (call) => {
    const error = await failure(call);
    seen.push(error.message);
    return error;
  };
}

/** Awaits a promise that must reject and returns its error as thrown; one that resolves fails the test. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("the promise resolved");
}

/** Runs an action that must throw and returns what it threw; one that returns fails the test. */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (err) {
    return err as Error;
  }
  throw new Error("nothing was thrown");
}
