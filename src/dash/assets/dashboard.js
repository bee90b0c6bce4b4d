/* global uPlot, document, window, CustomEvent, ResizeObserver, EventSource */
// The dashboard page: draws frames (from the live event stream, or embedded in a report) with
// uPlot, and lists the same figures in a table under each chart.
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('spate-data').textContent);
  const app = document.getElementById('app');
  const status = document.getElementById('status');
  const LIVE_POINTS = 600;
  const TABLE_ROWS = 12;
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
  let frames = [];
  /** Every chart on the page, for people and tests: { id, title, uplot, points }. */
  const charts = [];
  window.spateCharts = charts;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function fmt(n, unit) {
    if (n === null || n === undefined || Number.isNaN(n)) return '–';
    const abs = Math.abs(n);
    const text = abs >= 1000 ? Math.round(n).toLocaleString('en') : Number.isInteger(n) || abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : abs >= 1 ? n.toFixed(2) : n.toPrecision(2);
    return unit ? `${text} ${unit}` : text;
  }

  function union(pick) {
    const keys = [];
    for (const f of frames) for (const k of pick(f)) if (!keys.includes(k)) keys.push(k);
    return keys;
  }

  // A time-series chart: x is seconds since the start; one series per key.
  const TIME_CHARTS = [
    { id: 'throughput', title: 'Throughput', unit: '/s', keys: (f) => Object.keys(f.rates), value: (f, k) => f.rates[k] ?? null },
    { id: 'latency', title: 'Latency percentiles (each interval)', unit: 'ms', keys: (f) => (f.latency ? ['p50', 'p90', 'p99'] : []), value: (f, k) => (f.latency ? f.latency[k] : null) },
    { id: 'depths', title: 'In flight and queued', unit: '', keys: (f) => Object.keys(f.depths), value: (f, k) => f.depths[k] ?? null },
    { id: 'errors', title: 'Errors by kind (so far)', unit: '', keys: (f) => ['all', ...Object.keys(f.errors)], value: (f, k) => (k === 'all' ? Object.values(f.errors).reduce((a, b) => a + b, 0) : f.errors[k] ?? null) },
    { id: 'lag', title: 'Event-loop lag', unit: 'ms', keys: (f) => (f.lag ? ['p50', 'p99', 'max'] : []), value: (f, k) => (f.lag ? f.lag[k] : null) },
    { id: 'memory', title: 'Memory', unit: 'MB', keys: (f) => (f.memory ? ['rss', 'heap'] : []), value: (f, k) => (f.memory ? f.memory[k] : null) },
  ];

  function figure(id, title) {
    const plot = el('div', { class: 'plot', role: 'img', 'aria-label': title });
    const table = el('table', {}, el('caption', {}, title));
    const details = el('details', {}, el('summary', {}, 'Figures'), el('div', { class: 'scroll' }, table));
    const node = el('figure', { id: `chart-${id}`, class: 'chart' }, el('figcaption', {}, title), plot, details);
    return { node, plot, table };
  }

  function fillTable(table, caption, columns, rows) {
    table.replaceChildren(el('caption', {}, caption));
    table.append(el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', { scope: 'col' }, c)))));
    table.append(el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => (i === 0 ? el('th', { scope: 'row' }, String(c)) : el('td', {}, String(c))))))));
  }

  function width(node) {
    return Math.max(200, Math.floor(node.clientWidth || 300));
  }

  function countPoints(series) {
    let n = 0;
    for (let i = 1; i < series.length; i++) for (const v of series[i]) if (v !== null && v !== undefined && Number.isFinite(v)) n++;
    return n;
  }

  function makeChart(entry, opts, series) {
    if (entry.uplot) entry.uplot.destroy();
    entry.plot.replaceChildren();
    entry.uplot = new uPlot({ width: width(entry.plot), height: 200, legend: { live: false }, cursor: { show: false }, ...opts }, series, entry.plot);
  }

  function setPoints(entry, series) {
    entry.points = countPoints(series);
    entry.node.dataset.points = String(entry.points);
  }

  const timeEntries = TIME_CHARTS.map((def) => {
    const f = figure(def.id, def.title);
    const entry = { id: def.id, title: def.title, def, keys: '', uplot: null, points: 0, ...f };
    charts.push(entry);
    return entry;
  });

  function drawTime(entry) {
    const { def } = entry;
    const keys = union(def.keys);
    const shown = data.mode === 'live' ? frames.slice(-LIVE_POINTS) : frames;
    const series = [shown.map((f) => f.elapsed), ...keys.map((k) => shown.map((f) => def.value(f, k)))];
    entry.node.hidden = keys.length === 0;
    if (keys.length === 0) return;
    const signature = keys.join('\u0000');
    if (signature !== entry.keys || !entry.uplot) {
      entry.keys = signature;
      makeChart(entry, {
        scales: { x: { time: false } },
        axes: [{ label: 's' }, { label: def.unit, size: 60 }],
        series: [{ label: 's' }, ...keys.map((k, i) => ({ label: k, stroke: COLORS[i % COLORS.length], width: 2, points: { show: shown.length < 3 } }))],
      }, series);
    } else {
      entry.uplot.setData(series);
    }
    setPoints(entry, series);
    const step = Math.max(1, Math.ceil(shown.length / TABLE_ROWS));
    const rows = [];
    for (let i = shown.length - 1; i >= 0 && rows.length < TABLE_ROWS; i -= step) rows.push([fmt(shown[i].elapsed), ...keys.map((k) => fmt(def.value(shown[i], k)))]);
    fillTable(entry.table, `${def.title}${def.unit ? ` (${def.unit})` : ''}, latest first`, ['s', ...keys], rows);
  }

  function barOptions(labels, unit, xLabel) {
    return {
      scales: { x: { time: false, range: () => [-0.5, labels.length - 0.5] } },
      axes: [{ label: xLabel, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? labels[t] ?? '' : '')), space: 36 }, { label: unit || '', size: 60 }],
      series: [{ label: '' }, { label: unit || 'count', fill: '#93c5fd', stroke: '#2563eb', width: 1, paths: uPlot.paths.bars({ size: [0.8, 60] }), points: { show: false } }],
    };
  }

  function drawBars(entry, labels, values, unit, caption, xLabel) {
    const series = [labels.map((_l, i) => i), values];
    if (entry.labels !== labels.join('\u0000') || !entry.uplot) {
      entry.labels = labels.join('\u0000');
      makeChart(entry, barOptions(labels, unit, xLabel), series);
    } else {
      entry.uplot.setData(series);
    }
    setPoints(entry, series);
    fillTable(entry.table, caption, ['', unit || 'count'], labels.map((l, i) => [l, fmt(values[i])]));
  }

  const histogram = (() => {
    const f = figure('histogram', 'Latency distribution (whole run)');
    const entry = { id: 'histogram', title: 'Latency distribution (whole run)', uplot: null, points: 0, ...f };
    charts.push(entry);
    return entry;
  })();

  function drawHistogram() {
    const last = frames.at(-1);
    const h = last && last.histogram;
    histogram.node.hidden = !h;
    if (!h) return;
    // Drop empty buckets at the ends: the bounds span 0.5 ms to 30 s.
    let lo = h.counts.findIndex((n) => n > 0);
    let hi = h.counts.length - 1 - [...h.counts].reverse().findIndex((n) => n > 0);
    if (lo < 0) { lo = 0; hi = 0; }
    const labels = [];
    const values = [];
    for (let i = lo; i <= hi; i++) {
      labels.push(h.le[i] === null ? `>${fmt(h.le[i - 1])}` : fmt(h.le[i]));
      values.push(h.counts[i]);
    }
    drawBars(histogram, labels, values, 'count', `${last.latency ? last.latency.name : 'latency'}: observations per bucket (upper bound, ms)`, 'ms (upper bound)');
  }

  const cards = el('section', { class: 'cards', 'aria-label': 'Summary' });
  const hosts = el('section', { class: 'hosts' }, el('h2', {}, 'Hosts'), el('div', { class: 'scroll' }, el('table', { id: 'hosts' })));
  const sections = el('div', { class: 'sections' });

  function card(label, value, id) {
    return el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value', 'data-figure': id }, value));
  }

  function drawCards() {
    const f = frames.at(-1);
    const items = [];
    if (data.summary) for (const [k, v] of Object.entries(data.summary)) items.push(card(k, String(v), `summary:${k}`));
    if (f) {
      items.push(card('elapsed', `${fmt(f.elapsed)} s`, 'elapsed'));
      // Live: the last interval's rate; a report: the mean over the run.
      const report = data.mode === 'report' && f.elapsed > 0;
      for (const [k, total] of Object.entries(f.totals)) items.push(card(k, `${Math.round(total).toLocaleString('en')} (${fmt(report ? total / f.elapsed : f.rates[k])}/s)`, `total:${k}`));
      if (f.bytesTotal > 0) items.push(card('bytes', `${fmt(f.bytesTotal / 1e6)} MB (${fmt((report ? f.bytesTotal / f.elapsed : f.bytesPerSecond) / 1e6)} MB/s)`, 'bytes'));
      for (const [k, v] of Object.entries(f.depths)) items.push(card(k, String(v), `depth:${k}`));
      const errors = Object.values(f.errors).reduce((a, b) => a + b, 0);
      items.push(card('errors', String(errors), 'errors'));
      if (f.latency) items.push(card('latency p50 / p99', `${fmt(f.latency.p50, 'ms')} / ${fmt(f.latency.p99, 'ms')}`, 'latency'));
    }
    cards.replaceChildren(...items);
  }

  function drawHosts() {
    const f = frames.at(-1);
    const rows = f ? f.hosts : [];
    hosts.hidden = rows.length === 0;
    if (rows.length === 0) return;
    const classes = [];
    for (const r of rows) for (const k of Object.keys(r.statuses)) if (!classes.includes(k)) classes.push(k);
    classes.sort();
    fillTable(hosts.querySelector('table'), 'Per host (whole run); latency in ms', ['host', 'requests', ...classes, 'errors', 'MB', 'in flight', 'p50', 'p99', 'breaker'],
      rows.map((r) => [r.host, r.requests, ...classes.map((c) => r.statuses[c] ?? 0), r.errors, fmt(r.bytes / 1e6), r.inFlight, fmt(r.p50), fmt(r.p99), r.breaker ?? '–']));
  }

  function drawSections() {
    for (const [i, s] of (data.sections || []).entries()) {
      const id = `section-${i}`;
      const box = el('section', { class: 'section' }, el('h2', {}, s.title));
      if (s.bars && s.bars.labels.length > 0) {
        const f = figure(id, s.title);
        const entry = { id, title: s.title, uplot: null, points: 0, ...f };
        charts.push(entry);
        box.append(f.node);
        sections.append(box);
        drawBars(entry, s.bars.labels, s.bars.values, s.bars.unit, s.title);
        continue;
      }
      if (s.table) {
        const table = el('table', {});
        fillTable(table, s.title, s.table.columns, s.table.rows);
        box.append(el('div', { class: 'scroll' }, table));
      }
      sections.append(box);
    }
  }

  function draw() {
    drawCards();
    for (const entry of timeEntries) drawTime(entry);
    drawHistogram();
    drawHosts();
    document.body.dataset.frames = String(frames.length);
    document.dispatchEvent(new CustomEvent('spate:frame', { detail: { frames: frames.length } }));
  }

  const grid = el('div', { class: 'grid' }, ...timeEntries.map((e) => e.node), histogram.node);
  app.append(cards, grid, hosts, sections);
  drawSections();

  new ResizeObserver(() => {
    for (const c of charts) if (c.uplot && !c.node.hidden) c.uplot.setSize({ width: width(c.plot), height: 200 });
  }).observe(app);

  if (data.mode === 'report') {
    frames = data.frames || [];
    draw();
    return;
  }
  const events = new EventSource('events');
  events.addEventListener('history', (e) => {
    frames = JSON.parse(e.data);
    status.textContent = 'live';
    draw();
  });
  events.addEventListener('frame', (e) => {
    frames.push(JSON.parse(e.data));
    if (frames.length > LIVE_POINTS * 2) frames = frames.slice(-LIVE_POINTS);
    draw();
  });
  events.addEventListener('end', () => {
    status.textContent = 'the job has ended';
    events.close();
  });
  events.onerror = () => {
    if (events.readyState !== EventSource.CLOSED) status.textContent = 'reconnecting…';
  };
})();
