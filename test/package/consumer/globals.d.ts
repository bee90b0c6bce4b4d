// What the README's snippets leave to the reader's program.
declare const urls: string[];
declare function fetchPage(url: string, signal: AbortSignal): Promise<string>;
interface Job { id: number }
declare function handle(job: Job): Promise<void>;
declare function callApi(signal: AbortSignal): Promise<unknown>;
declare function flaky(): Promise<number>;
