import type { ReactNode } from "react";

/** A column: its heading, right-aligned figures (`num`), or a heading only screen readers need (`hidden`). */
export type Column = string | { label: string; num?: boolean; hidden?: boolean };

/**
 * A table in a box of its own that scrolls sideways on a narrow screen (the
 * page itself never does), reachable and named for keyboard and screen-reader users.
 */
export function ScrollTable({ label, className, columns, children }: { label: string; className?: string; columns: Column[]; children: ReactNode }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={label}>
      <table className={className}>
        <thead>
          <tr>
            {columns.map((column) => {
              const { label: heading, num, hidden } = typeof column === "string" ? { label: column } : column;
              return (
                <th key={heading} scope="col" className={num ? "num" : undefined}>
                  {hidden ? <span className="sr-only">{heading}</span> : heading}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
