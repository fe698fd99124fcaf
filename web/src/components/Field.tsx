import type { ReactNode } from "react";

/** A labelled control: the label names it for screen readers (its `htmlFor` is the control's id), with an optional hint. */
export function Field({ id, label, help, wide, children }: { id: string; label: string; help?: string; wide?: boolean; children: ReactNode }) {
  return (
    <div className={wide ? "field wide" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children}
      {help && <small id={`${id}-help`}>{help}</small>}
    </div>
  );
}
