// Chromium for the browser tests: Debian's build driven by playwright-core (no browser download).
// Outside CI a missing Chromium skips the tests with one line; under CI=true it fails them.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SPATE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI === 'true') throw new Error(`Chromium is missing at ${CHROMIUM} (CI installs it: apt-get install -y chromium)`);
  return `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set SPATE_CHROMIUM) to run the browser tests`;
}

export interface Browser {
  context: BrowserContext;
  /** A new page that records console errors and page errors. */
  page(viewport?: { width: number; height: number }): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile. */
export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'spate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async page(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      return { page, errors };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Per chart on the page: its id, whether shown, the data points drawn, coloured pixels on its canvas, rows of its table. */
export async function chartFigures(page: Page): Promise<{ id: string; hidden: boolean; points: number; inked: number; rows: number }[]> {
  // The page's own globals (tsconfig has no DOM types): typed loosely here.
  return page.evaluate(() => {
    const charts: any[] = (globalThis as any).spateCharts;
    return charts.map((c) => {
      const canvas = c.plot.querySelector('canvas');
      let inked = 0;
      if (canvas && canvas.width > 0 && canvas.height > 0) {
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
      }
      return { id: c.id, hidden: c.node.closest('[hidden]') !== null, points: Number(c.node.dataset.points ?? 0), inked, rows: c.table.tBodies[0]?.rows.length ?? 0 };
    });
  });
}

/** The text of each summary card, by its figure id. */
export async function cardFigures(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const node of (globalThis as any).document.querySelectorAll('[data-figure]')) out[node.dataset.figure] = node.textContent;
    return out;
  });
}
