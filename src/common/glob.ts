/** Compiles a model glob ("gpt-*", "o1*", "qwen-?-max") into a matcher; no glob characters means exact match. */
export function compileGlob(pattern: string): (name: string) => boolean {
  if (!/[*?]/.test(pattern)) return (name) => name === pattern;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  const regex = new RegExp(`^${source}$`);
  return (name) => regex.test(name);
}

export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}
