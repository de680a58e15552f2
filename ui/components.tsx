/**
 * Small shared pieces: links, badges, copy buttons, a JSON viewer, charts.
 * @module
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { onLink } from "./router.ts";

/** An in-app link. */
export function Link(
  props: { href: string; class?: string; children: ComponentChildren; title?: string },
) {
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={onLink}>
      {props.children}
    </a>
  );
}

/** `success` / `failure` (with the HTTP status). */
export function StatusBadge(props: { status: string; code?: number | null }) {
  const ok = props.status === "success";
  return (
    <span class={`badge ${ok ? "ok" : "bad"}`}>
      {ok ? "ok" : props.code ? `${props.code}` : "failed"}
    </span>
  );
}

/** A value with a button that copies it. */
export function Copyable(props: { label: string; value: string | null | undefined }) {
  const [copied, setCopied] = useState(false);
  if (!props.value) return null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value!);
      setCopied(true);
      setTimeout(() => setCopied(false), 1200);
    } catch {
      // clipboard refused (not a secure context): the value stays selectable
    }
  };
  return (
    <div class="copyable" data-id={props.label}>
      <span class="label">{props.label}</span>
      <code class="value">{props.value}</code>
      <button type="button" class="copy" onClick={copy} title={`copy ${props.label}`}>
        {copied ? "copied" : "copy"}
      </button>
    </div>
  );
}

/** Pretty-printed JSON (or text) in a scrollable block. */
export function JsonBlock(props: { value: unknown; class?: string }) {
  const text = typeof props.value === "string" ? props.value : JSON.stringify(props.value, null, 2);
  return <pre class={`json ${props.class ?? ""}`}>{text}</pre>;
}

/** A titled panel. */
export function Panel(
  props: { title: string; children: ComponentChildren; class?: string; right?: ComponentChildren },
) {
  return (
    <section class={`panel ${props.class ?? ""}`}>
      <header>
        <h2>{props.title}</h2>
        {props.right}
      </header>
      <div class="panel-body">{props.children}</div>
    </section>
  );
}

/** An error line. */
export function ErrorLine(props: { error: unknown }) {
  if (!props.error) return null;
  const message = props.error instanceof Error ? props.error.message : String(props.error);
  return <div class="error-line" role="alert">{message}</div>;
}

/** One series of a {@link Chart}. */
export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  /** Which y axis: 0 (left, default) or 1 (right). */
  axis?: 0 | 1;
}

/** A time-series line chart (uPlot), resized with its box. */
export function Chart(
  props: { title: string; times: number[]; series: Series[]; unit?: string; unit2?: string },
) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(280, element.clientWidth);
    const scales: uPlot.Scales = { x: { time: true }, y: {} };
    const axes: uPlot.Axis[] = [
      { stroke: "#8b93a7", grid: { stroke: "#262b38" }, ticks: { stroke: "#262b38" } },
      {
        stroke: "#8b93a7",
        grid: { stroke: "#262b38" },
        ticks: { stroke: "#262b38" },
        label: props.unit,
        size: 56,
      },
    ];
    if (props.series.some((s) => s.axis === 1)) {
      scales.y2 = {};
      axes.push({
        scale: "y2",
        side: 1,
        stroke: "#8b93a7",
        grid: { show: false },
        label: props.unit2,
        size: 56,
      });
    }
    const plot = new uPlot(
      {
        width,
        height: 200,
        scales,
        axes,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            scale: s.axis === 1 ? "y2" : "y",
            spanGaps: false,
            points: { show: true, size: props.times.length < 40 ? 5 : 3 },
          })),
        ],
      },
      [props.times.map((t) => t / 1000), ...props.series.map((s) => s.values)] as uPlot.AlignedData,
      element,
    );
    const observer = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(280, element.clientWidth), height: 200 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [props.times, props.series]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}
