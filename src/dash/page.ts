// The dashboard's HTML: one page for the live view (assets linked, frames over SSE) and the
// report (assets and frames inlined, so the file works from file:// with no network).
// The page script and style are plain files beside this module (assets/): a build to dist/ must
// copy them; uPlot comes from its package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Frame } from './frames.ts';

/** A section of a report beyond the charts: a bar chart and/or a table. */
export interface ReportSection {
  title: string;
  /** Bars: one label and value each (drawn as a chart, and listed in the table). */
  bars?: { labels: string[]; values: number[]; unit?: string | undefined } | undefined;
  /** A table: column names and rows of cells. */
  table?: { columns: string[]; rows: (string | number)[][] } | undefined;
}

/** What the page script reads. */
export interface PageData {
  title: string;
  mode: 'live' | 'report';
  /** Summary lines shown at the top of a report (label → value). */
  summary?: Record<string, string | number> | undefined;
  frames?: readonly Frame[] | undefined;
  sections?: readonly ReportSection[] | undefined;
}

const require = createRequire(import.meta.url);

/** The files the page needs, by the name it asks for them under /assets/. */
export const ASSETS: Readonly<Record<string, { path: string; type: string }>> = {
  'uPlot.min.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  'dashboard.js': { path: fileURLToPath(new URL('./assets/dashboard.js', import.meta.url)), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: fileURLToPath(new URL('./assets/dashboard.css', import.meta.url)), type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, string>();

/** An asset's text (read once). */
export function asset(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    const entry = ASSETS[name];
    if (entry === undefined) throw new Error(`No dashboard asset ${name}`);
    text = readFileSync(entry.path, 'utf8');
    cache.set(name, text);
  }
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Text that may sit inside a <script> or <style> element: nothing in it can close the element. */
function inert(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON that is also safe inside a <script> element. */
function json(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The page: linked assets for the live dashboard, everything inlined for a report. */
export function renderPage(data: PageData): string {
  const inline = data.mode === 'report';
  const css = inline
    ? `<style>${inert(asset('uPlot.min.css'))}</style><style>${inert(asset('dashboard.css'))}</style>`
    : '<link rel="stylesheet" href="assets/uPlot.min.css"><link rel="stylesheet" href="assets/dashboard.css">';
  const js = inline
    ? `<script>${inert(asset('uPlot.min.js'))}</script><script>${inert(asset('dashboard.js'))}</script>`
    : '<script src="assets/uPlot.min.js"></script><script src="assets/dashboard.js"></script>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(data.title)}</title>
${css}
</head>
<body>
<header><h1>${escapeHtml(data.title)}</h1><p id="status" role="status" aria-live="polite">${inline ? 'report' : 'connecting…'}</p></header>
<main id="app"></main>
<script type="application/json" id="spate-data">${json(data)}</script>
${js}
</body>
</html>
`;
}
