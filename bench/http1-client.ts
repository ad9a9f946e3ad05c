/**
 * A lean HTTP/1.1 keep-alive connection for the load processes: requests are written as text
 * on one TCP socket (pipelined when more than one is outstanding) and responses are framed by
 * their Content-Length (or chunked encoding) and matched to requests in order. It does what a
 * benchmark client must and nothing more (no redirects, no bodies on HEAD, no upgrades), so
 * that the load processes take as little as possible of the CPU they share with the server on
 * a small machine: with it a load process spends about 30% less CPU per request than with
 * undici's Pool, signing included (docs/BENCHMARKS.md).
 *
 * A connection that breaks (socket error, close, a response it cannot frame) fails every
 * request outstanding on it and connects again for the next one.
 */
import net from 'node:net';

/** A response: status and body text. */
export interface Http1Response {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  readonly resolve: (r: Http1Response) => void;
  readonly reject: (e: Error) => void;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** One keep-alive connection to `host:port`. */
export class Http1Connection {
  private socket: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private readonly pending: Pending[] = [];
  private buffer: Buffer = EMPTY;
  private readonly hostHeader: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.hostHeader = `${host}:${port}`;
  }

  /** Requests written and not yet answered. */
  get outstanding(): number {
    return this.pending.length;
  }

  /**
   * Sends `method path` with `headers` (names and values without line breaks) and no body;
   * resolves with the response, rejects if the connection breaks before it arrives.
   */
  async request(method: string, path: string, headers: string): Promise<Http1Response> {
    const socket = this.socket ?? (await this.connect());
    if (socket !== this.socket) throw new Error('the connection broke before the request was sent');
    return new Promise<Http1Response>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      socket.write(`${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n${headers}\r\n`, 'latin1');
    });
  }

  /** Closes the connection; outstanding requests fail. */
  close(): void {
    this.broken(new Error('connection closed by the client'));
  }

  private connect(): Promise<net.Socket> {
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true });
      const failed = (e: Error): void => {
        this.connecting = null;
        reject(e);
      };
      s.once('error', failed);
      s.once('connect', () => {
        s.off('error', failed);
        // Events of a socket given up already (its late 'close') must not touch the next one.
        s.on('error', (e) => {
          if (this.socket === s) this.broken(e);
        });
        s.on('close', () => {
          if (this.socket === s) this.broken(new Error('connection closed by the server'));
        });
        s.on('data', (chunk: Buffer) => {
          if (this.socket === s) this.onData(chunk);
        });
        this.socket = s;
        this.connecting = null;
        resolve(s);
      });
    });
    return this.connecting;
  }

  private broken(e: Error): void {
    const s = this.socket;
    this.socket = null;
    this.buffer = EMPTY;
    if (s !== null && !s.destroyed) s.destroy();
    const failed = this.pending.splice(0);
    for (const p of failed) p.reject(e);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      for (;;) {
        const used = this.parseOne();
        if (used === 0) break;
        this.buffer = used === this.buffer.length ? EMPTY : this.buffer.subarray(used);
      }
    } catch (e) {
      this.broken(e as Error);
    }
  }

  /** Frames one response at the start of the buffer: its length in bytes, 0 if incomplete. */
  private parseOne(): number {
    const buf = this.buffer;
    const headEnd = buf.indexOf(CRLF2);
    if (headEnd < 0) return 0;
    const head = buf.toString('latin1', 0, headEnd);
    // "HTTP/1.1 200 OK"
    const status = Number(head.slice(9, 12));
    let length = -1;
    let chunked = false;
    let close = false;
    let at = head.indexOf('\r\n') + 2;
    while (at > 1 && at < head.length) {
      const eol = head.indexOf('\r\n', at);
      const line = head.slice(at, eol < 0 ? head.length : eol);
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.toLowerCase() === 'chunked';
      else if (name === 'connection') close = value.toLowerCase() === 'close';
      if (eol < 0) break;
      at = eol + 2;
    }
    const bodyStart = headEnd + 4;
    let body: string;
    let end: number;
    if (chunked) {
      const r = unchunk(buf, bodyStart);
      if (r === null) return 0;
      body = r.body;
      end = r.end;
    } else if (Number.isInteger(length) && length >= 0 && status >= 200) {
      if (buf.length < bodyStart + length) return 0;
      body = buf.toString('utf8', bodyStart, bodyStart + length);
      end = bodyStart + length;
    } else {
      this.broken(new Error(`a response the client cannot frame: ${JSON.stringify(head.slice(0, 200))}`));
      return 0;
    }
    const p = this.pending.shift();
    if (p === undefined) {
      this.broken(new Error('a response nobody asked for'));
      return 0;
    }
    p.resolve({ status, body });
    if (close) {
      this.broken(new Error('the server closed the connection'));
      return 0;
    }
    return end;
  }
}

/** Decodes a chunked body starting at `from`; null while incomplete. */
function unchunk(buf: Buffer, from: number): { body: string; end: number } | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return null;
    const size = Number.parseInt(buf.toString('latin1', at, eol), 16);
    if (!Number.isInteger(size) || size < 0) throw new Error('a chunked body the client cannot read');
    const dataStart = eol + 2;
    if (size === 0) {
      // No trailers from the servers measured here: the last chunk ends with one blank line.
      if (buf.length < dataStart + 2) return null;
      return { body: Buffer.concat(parts).toString('utf8'), end: dataStart + 2 };
    }
    if (buf.length < dataStart + size + 2) return null;
    parts.push(buf.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}
