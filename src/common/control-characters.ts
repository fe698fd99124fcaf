/** C0 and C1 control characters: ESC, BEL and CSI can clear an operator's screen or retitle the window, and break log lines and label values. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** Whether `text` holds any control character. */
export function hasControlCharacter(text: string): boolean {
  CONTROL_CHARACTERS.lastIndex = 0;
  return CONTROL_CHARACTERS.test(text);
}
