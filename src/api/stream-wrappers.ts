// Server streams pass through several hands between the gateway and the
// wire (the service, the interceptors); an async generator at each costs
// more per streamed message than the gateway's own work on it. These wrap
// a stream as plain iterators instead: one promise per message.

/** What to do as a stream ends: completed (outcome undefined), failed (its error, as `mapError` made it), or cancelled by its reader (`cancelled`). */
export interface StreamWatch {
  /** What a failure becomes, for the reader and `onEnd` alike; the error itself when unset. */
  mapError?(err: unknown): unknown;
  /** Once, when the stream has ended: after the source has finished its own ending. */
  onEnd?(outcome: unknown): void;
  /** The outcome of a reader that stopped early (return()), made only then. */
  cancelled?(): unknown;
}

/** `messages`, with its failures mapped and its end reported, as a generator's catch and finally around `yield*` would. */
export function watchStream<T>(messages: AsyncIterable<T>, watch: StreamWatch): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const source = messages[Symbol.asyncIterator]();
      let ended = false;
      const end = (outcome: unknown): void => {
        if (ended) return;
        ended = true;
        watch.onEnd?.(outcome);
      };
      return {
        next: () =>
          source.next().then(
            (result) => {
              if (result.done) end(undefined);
              return result;
            },
            (err: unknown) => {
              const error = watch.mapError ? watch.mapError(err) : err;
              end(error);
              throw error;
            },
          ),
        return: async (value?: unknown) => {
          try {
            await source.return?.(value);
          } finally {
            end(watch.cancelled?.());
          }
          return { done: true, value };
        },
        // connect-es throws a failed write (its caller gone) into the stream it serves; without throw() here its
        // yield* would pass that by, and the source would never end. It ends the source as its reader stopping would.
        throw: async (err?: unknown) => {
          try {
            await source.return?.();
          } finally {
            end(watch.mapError ? watch.mapError(err) : err);
          }
          throw err;
        },
      };
    },
  };
}

/** A stream that `open` makes on its first read (as a generator's body runs on its first next()), its failure to open the stream's first failure. */
export function openOnRead<T>(open: () => Promise<AsyncIterable<T>>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let source: Promise<AsyncIterator<T>> | undefined;
      const opened = () => (source ??= open().then((stream) => stream[Symbol.asyncIterator]()));
      return {
        next: async () => (await opened()).next(),
        return: async (value?: unknown) => {
          const begun = await source?.catch(() => undefined);
          await begun?.return?.(value);
          return { done: true, value };
        },
      };
    },
  };
}
