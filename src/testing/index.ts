// spate/testing: tools for testing code built on spate.
export { VirtualClock } from './virtual-clock.ts';
