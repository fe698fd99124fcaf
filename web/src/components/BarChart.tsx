import { useEffect, useRef, useState } from "react";
import { visibleText } from "../visible-text";
import { VisibleName } from "./VisibleName";

/** Colours for series, in order; each distinct from its neighbours and dark enough on white. */
export const SERIES_COLOURS = ["#2456c7", "#d0562b", "#1c8a5b", "#8a3fb8", "#b8860b", "#0e7c8c", "#b8325e", "#5b6472"];

export interface ChartSeries {
  name: string;
  values: number[];
}

/**
 * Stacked bars, one per bucket, one colour per series, drawn as SVG (no
 * chart library: a few kilobytes, and nothing inline for the page's content
 * security policy to refuse). The figures are in a table beside it too.
 */
export function BarChart({
  labels,
  series,
  format,
  title,
  height = 220,
  whole = false,
}: {
  labels: string[];
  series: ChartSeries[];
  format(value: number): string;
  title: string;
  height?: number;
  /** Counts: ticks on whole numbers. */
  whole?: boolean;
}) {
  const [ref, width] = useWidth(800);
  const pad = { top: 12, right: 12, bottom: 28, left: 72 };
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(0, ...totals);
  const step = tickStep(max, whole);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = labels.length > 0 ? plotW / labels.length : plotW;
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const y = (value: number) => pad.top + plotH - (value / top) * plotH;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  const labelEvery = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(plotW / 90))));
  return (
    <figure className="chart" ref={ref}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${max > 0 ? `up to ${format(max)} per bucket` : "no data in this window"}`}>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={pad.left} x2={width - pad.right} y1={y(tick)} y2={y(tick)} className="grid" />
            <text x={pad.left - 8} y={y(tick) + 4} textAnchor="end" className="tick">
              {format(tick)}
            </text>
          </g>
        ))}
        {labels.map((label, i) => {
          let base = 0;
          const x = pad.left + i * slot + (slot - barW) / 2;
          // Keyed by place, as are the series below: labels repeat (a two-day range's hours) and names may (a team called "(none)").
          return (
            <g key={i}>
              {series.map((s, k) => {
                const value = s.values[i] ?? 0;
                if (value <= 0) return null;
                const rect = (
                  <rect key={k} x={x} width={barW} y={y(base + value)} height={Math.max(1, y(base) - y(base + value))} fill={SERIES_COLOURS[k % SERIES_COLOURS.length]} data-series={s.name} data-value={value}>
                    <title>{`${visibleText(s.name) || "all"} · ${label}: ${format(value)}`}</title>
                  </rect>
                );
                base += value;
                return rect;
              })}
              {i % labelEvery === 0 && (
                <text x={pad.left + i * slot + slot / 2} y={height - 8} textAnchor="middle" className="tick">
                  {label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      {series.length > 1 && (
        <figcaption>
          <ul className="legend">
            {series.map((s, k) => (
              <li key={k}>
                <span className="swatch" style={{ background: SERIES_COLOURS[k % SERIES_COLOURS.length] }} aria-hidden="true" />
                {s.name ? <VisibleName name={s.name} /> : "(none)"}
              </li>
            ))}
          </ul>
        </figcaption>
      )}
    </figure>
  );
}

/** The gap between ticks: 1, 2 or 5 times a power of ten, about a quarter of `max` (whole numbers for counts). */
function tickStep(max: number, whole: boolean): number {
  if (max <= 0) return 1;
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough) ?? 10 * power;
  return whole ? Math.max(1, Math.round(step)) : step;
}

/** The element's width in CSS pixels, followed as it changes (the chart is drawn at its real size, so its text stays legible). */
function useWidth(initial: number) {
  const ref = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(Math.max(240, Math.floor(entry.contentRect.width))));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}
