// A response whose body is either buffered (the default: read inside the retried attempt, so a
// body that breaks mid-way is retried like any other failure) or a stream (`stream: true`).
import { Readable } from 'node:stream';
import { InvalidJsonError } from './errors.ts';

/** Response headers by lower-case name (repeated headers as arrays). */
export type Headers = Record<string, string | string[] | undefined>;

/** How long the phases of a request took. */
export interface ResponseTiming {
  /** Milliseconds from the call to the final response's headers. */
  headersMs: number;
  /** Milliseconds from the call to the end of the body (buffered responses only). */
  totalMs: number | undefined;
}

/** An HTTP response. Header names are lower-case. */
export class HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The URL of the final response, after redirects. */
  readonly url: string;
  /** The URLs that redirected here, in order; empty when there was no redirect. */
  readonly redirects: readonly string[];
  /** How many attempts the request took (1 when it was not retried). */
  attempts = 1;
  readonly timing: ResponseTiming;
  #buffer: Buffer | undefined;
  #stream: Readable | undefined;

  constructor(init: { status: number; headers: Headers; url: string; redirects: readonly string[]; timing: ResponseTiming; buffer?: Buffer | undefined; stream?: Readable | undefined }) {
    this.status = init.status;
    this.headers = init.headers;
    this.url = init.url;
    this.redirects = init.redirects;
    this.timing = init.timing;
    this.#buffer = init.buffer;
    this.#stream = init.stream;
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** A header's value (the first one, if repeated). */
  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  /** The body as a stream. A buffered body can be streamed too; a stream can be read once. */
  get body(): Readable {
    if (this.#stream) {
      const stream = this.#stream;
      this.#stream = undefined;
      return stream;
    }
    if (this.#buffer) return Readable.from([this.#buffer]);
    throw new Error('the body was already read');
  }

  /** The whole body (decompressed). */
  bytes(): Promise<Buffer> {
    // A buffered body (the default) needs no async frame of its own.
    if (this.#buffer) return Promise.resolve(this.#buffer);
    return this.#readAll();
  }

  async #readAll(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.body) chunks.push(chunk as Buffer);
    this.#buffer = Buffer.concat(chunks);
    return this.#buffer;
  }

  /** The body decoded as text, with the charset of Content-Type when it names one Node knows. */
  async text(): Promise<string> {
    const bytes = await this.bytes();
    const charset = /charset="?([\w-]+)/i.exec(this.header('content-type') ?? '')?.[1]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      try {
        return new TextDecoder(charset).decode(bytes);
      } catch {
        // An unknown charset: fall back to UTF-8 rather than fail the read.
      }
    }
    return bytes.toString('utf8');
  }

  /** The body parsed as JSON; `InvalidJsonError` (with a snippet of the body) when it is not. */
  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new InvalidJsonError(this.url, text.slice(0, 200), { cause: error });
    }
  }
}
