// A bar chart drawn as inline SVG from the report's rows: no chart library, nothing from elsewhere.
const SVG = "http://www.w3.org/2000/svg";

export interface Bar {
  label: string;
  value: number;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

export function barChart(title: string, bars: Bar[], format: (value: number) => string): SVGSVGElement {
  const width = 720;
  const height = 240;
  const pad = { top: 20, right: 10, bottom: 40, left: 70 };
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / Math.max(1, bars.length);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  const titleEl = svg("title", {});
  titleEl.textContent = title;
  root.appendChild(titleEl);
  for (const fraction of [0, 0.5, 1]) {
    const y = pad.top + plotH * (1 - fraction);
    root.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }));
    const tick = svg("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "tick" });
    tick.textContent = format(max * fraction);
    root.appendChild(tick);
  }
  bars.forEach((bar, i) => {
    const h = (bar.value / max) * plotH;
    const rect = svg("rect", {
      x: pad.left + i * step + step * 0.15,
      y: pad.top + plotH - h,
      width: step * 0.7,
      height: Math.max(0, h),
      class: "bar",
    });
    const tip = svg("title", {});
    tip.textContent = `${bar.label}: ${format(bar.value)}`;
    rect.appendChild(tip);
    root.appendChild(rect);
    if (i % 5 === 0 || i === bars.length - 1) {
      const label = svg("text", {
        x: pad.left + i * step + step / 2,
        y: height - 18,
        "text-anchor": "middle",
        class: "tick",
      });
      label.textContent = bar.label.slice(5);
      root.appendChild(label);
    }
  });
  return root;
}
