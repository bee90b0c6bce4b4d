// spate: the core's model at the top level; other layers by subpath (spate/http, spate/lab, …).
export * from './core/index.ts';
