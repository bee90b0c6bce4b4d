// spate/dash: a live dashboard of a registry (or of another process's /metrics) over SSE, and
// self-contained HTML reports. Imports core, observe and http.
export { startDashboard, type Dashboard, type DashboardOptions } from './server.ts';
export { Recorder, type RecorderOptions } from './recorder.ts';
export { FrameBuilder, quantile, shortName, type Frame, type HostRow } from './frames.ts';
export { parsePrometheus, sampleRegistry, sampleUrl, type Sample, type FamilySample, type SeriesSample } from './sample.ts';
export { renderHtmlReport, writeHtmlReport, type HtmlReport } from './report.ts';
export { renderPage, type PageData, type ReportSection } from './page.ts';
export { DashboardError } from './errors.ts';
