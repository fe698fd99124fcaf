/**
 * Compiles a model glob ("gpt-*", "o1*", "qwen-?-max") into a matcher; no glob characters means exact match.
 * `*` stands for any run of characters, `?` for one (one UTF-16 unit); every other character is itself.
 */
export function compileGlob(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name === pattern;
  return (name) => matchesGlob(pattern, name);
}

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/**
 * Whether every name `inner` matches, `outer` matches too: `inner`'s text is
 * matched as a name, where `outer`'s `?` may not stand for `inner`'s `*` or
 * `?` (either may stand for a character `?` would not take, or for none)
 * while `outer`'s `*` may take any run of them. Sound, though not complete:
 * `a?*` covers `a*?` but is not found to.
 */
export function globCovers(outer: string, inner: string): boolean {
  return matchesGlob(outer, inner, (unit) => unit !== "*" && unit !== "?");
}

/**
 * One pass over the name, going back only to the last `*` seen: the name is
 * the caller's, so a backtracking regex (`*a*a*a…b`, 60 characters) could
 * hold the event loop for ever. Going back further is never needed: the last
 * star can take whatever an earlier one would have. At most
 * name × pattern steps.
 */
function matchesGlob(pattern: string, name: string, questionMarkTakes: (unit: string) => boolean = () => true): boolean {
  let p = 0;
  let n = 0;
  // The last star's position in the pattern, and where in the name its match ends.
  let star = -1;
  let starEnd = 0;
  while (n < name.length) {
    const wanted = pattern[p];
    if (wanted === "*") {
      star = p++;
      starEnd = n;
      continue;
    }
    const unit = name[n]!;
    if (wanted !== undefined && (wanted === "?" ? !isLineBreak(unit) && questionMarkTakes(unit) : wanted === unit)) {
      p++;
      n++;
      continue;
    }
    if (star < 0 || isLineBreak(name[starEnd]!)) return false;
    // The last star takes one more character; match the rest of the pattern from just after it.
    p = star + 1;
    n = ++starEnd;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * The regexes globs used to compile to matched `*` and `?` as `.`, which
 * stands for no line break: kept, so that no key scope or route widens.
 */
function isLineBreak(unit: string): boolean {
  return unit === "\n" || unit === "\r" || unit === "\u2028" || unit === "\u2029";
}
