// The HTML report: one self-contained file (uPlot, the page script and the data inlined), so it
// opens from file:// with no network. Complete or absent: written to a temp file, synced, renamed.
import { open, rename, rm } from 'node:fs/promises';
import type { Frame } from './frames.ts';
import { type ReportSection, renderPage } from './page.ts';

/** What {@link writeHtmlReport} writes. */
export interface HtmlReport {
  title: string;
  /** Label → value lines at the top. */
  summary?: Record<string, string | number> | undefined;
  /** The frames of the run (the dashboard's charts over the whole run). */
  frames?: readonly Frame[] | undefined;
  /** More charts and tables (status codes, slowest pages, failures…). */
  sections?: readonly ReportSection[] | undefined;
}

/** The report as one HTML string. */
export function renderHtmlReport(report: HtmlReport): string {
  return renderPage({ title: report.title, mode: 'report', summary: report.summary, frames: report.frames ?? [], sections: report.sections ?? [] });
}

/** Writes the report to `path` atomically (temp file, fsync, rename). */
export async function writeHtmlReport(path: string, report: HtmlReport): Promise<void> {
  const html = renderHtmlReport(report);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(html);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
