import type { ButtonHTMLAttributes } from "react";

/**
 * A button for an action the key may not be allowed: with a `refusal` it is
 * shown disabled, saying why on hover and to screen readers (aria-disabled,
 * not `disabled`: it stays focusable, so the reason can be read).
 */
export function GuardedButton({ refusal, onClick, title, className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { refusal?: string }) {
  if (!refusal) return <button type="button" onClick={onClick} title={title} className={className} {...rest} />;
  return <button type="button" aria-disabled="true" title={refusal} className={`${className ?? ""} refused`.trim()} {...rest} />;
}
