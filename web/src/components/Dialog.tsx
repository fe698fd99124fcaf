import { useEffect, useId, useRef, type ReactNode } from "react";

/**
 * A modal dialog on the native <dialog> element: focus moves into it and
 * stays there, Escape closes it, and focus returns where it was.
 */
export function Dialog({ open, title, onClose, children, wide }: { open: boolean; title: string; onClose(): void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onClose={onClose} className={wide ? "wide" : undefined}>
      {open && (
        <>
          <header className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="icon" onClick={onClose} aria-label="Close">
              ×
            </button>
          </header>
          {children}
        </>
      )}
    </dialog>
  );
}

/** Asks before an action that changes something: says what, and does it on "yes". */
export function Confirm({
  open,
  title,
  children,
  action,
  onConfirm,
  onClose,
  busy,
  danger,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  action: string;
  onConfirm(): void;
  onClose(): void;
  busy?: boolean;
  danger?: boolean;
}) {
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <div className="dialog-body">{children}</div>
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className={danger ? "danger" : "primary"} onClick={onConfirm} disabled={busy}>
          {busy ? "Working…" : action}
        </button>
      </div>
    </Dialog>
  );
}
