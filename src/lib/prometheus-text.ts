/** One sample of a family: `suffix` for a histogram's `_bucket`, `_sum`, `_count`. */
export interface Sample {
  suffix?: "_bucket" | "_sum" | "_count";
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  samples: Sample[];
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** The Prometheus text exposition format (version 0.0.4) of the families, in order. */
export function renderPrometheus(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {})
        .map(([key, value]) => `${key}="${escapeLabel(value)}"`)
        .join(",");
      lines.push(
        `${family.name}${sample.suffix ?? ""}${labels ? `{${labels}}` : ""} ${formatValue(sample.value)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The cumulative `_bucket`, `_sum` and `_count` samples of a histogram from per-bucket counts. */
export function histogramSamples(
  bounds: readonly number[],
  atMost: readonly number[],
  count: number,
  sum: number,
): Sample[] {
  return [
    ...bounds.map((bound, i) => ({
      suffix: "_bucket" as const,
      labels: { le: String(bound) },
      value: atMost[i] ?? 0,
    })),
    { suffix: "_bucket", labels: { le: "+Inf" }, value: count },
    { suffix: "_sum", value: sum },
    { suffix: "_count", value: count },
  ];
}
