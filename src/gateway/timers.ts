/** A one-shot timer that can be stopped and started again with another delay. */
export interface Timer {
  stop(): void;
  restart(ms: number): void;
}

/** Starts a timer that calls `fire` after `ms`; injectable so that tests drive time themselves. */
export type StartTimer = (ms: number, fire: () => void) => Timer;

/**
 * Node's timers. (Not AbortSignal.timeout: Node may collect its signal before
 * it fires, and an attempt bounded by it then never times out.)
 */
export const startTimer: StartTimer = (ms, fire) => {
  let handle: NodeJS.Timeout | undefined = setTimeout(fire, ms);
  let armedMs = ms;
  return {
    stop: () => {
      clearTimeout(handle);
      handle = undefined;
    },
    restart: (next) => {
      // A stream's idle timer restarts at every chunk with the same delay: re-arming is cheaper than a new timer.
      if (handle !== undefined && next === armedMs) {
        handle.refresh();
        return;
      }
      clearTimeout(handle);
      handle = setTimeout(fire, next);
      armedMs = next;
    },
  };
};
