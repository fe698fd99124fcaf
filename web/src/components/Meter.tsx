/** A value against a limit as a bar (spend against budget), with its words for screen readers. */
export function Meter({ value, max, label, text, warnAt }: { value: number; max: number; label: string; text: string; warnAt?: number }) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  const level = share >= 1 ? "over" : warnAt !== undefined && share >= warnAt ? "warn" : "ok";
  return (
    <div className="meter-wrap">
      <div className={`meter ${level}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={Math.min(value, max)} aria-valuetext={text}>
        <div className="meter-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <span className="meter-text">{text}</span>
    </div>
  );
}
