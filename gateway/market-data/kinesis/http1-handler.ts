/**
 * An HTTP/1.1 request handler for the AWS SDK, for plain-`http://` endpoints only (kinesalite,
 * LocalStack). The Kinesis client talks HTTP/2 by default, which is right for AWS over TLS, but a
 * local emulator on cleartext HTTP/1.1 answers it with a protocol error. This is the smallest handler
 * that speaks HTTP/1.1 with keep-alive; AWS endpoints keep the SDK's own.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';

/** The request the SDK hands a handler (the fields we use of its HttpRequest). */
interface SdkHttpRequest {
  readonly method: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query?: Record<string, string | readonly string[] | null>;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array | Readable;
}

/** The response the SDK expects back (the shape of its HttpResponse). */
interface SdkHttpResponse {
  readonly statusCode: number;
  readonly reason?: string;
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

/** The SDK's HttpHandler contract, structurally. */
export interface Http1Handler {
  handle(
    request: SdkHttpRequest,
    options?: { abortSignal?: AbortSignal; requestTimeout?: number },
  ): Promise<{ response: SdkHttpResponse }>;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

/** A keep-alive HTTP/1.1 handler (one agent per handler; `destroy` closes its sockets). */
export function http1Handler(): Http1Handler {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  return {
    handle(request, options = {}) {
      return new Promise((resolve, reject) => {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(request.query ?? {})) {
          if (v === null) continue;
          for (const one of typeof v === 'string' ? [v] : v) query.append(k, one);
        }
        const qs = query.toString();
        const req = http.request(
          {
            agent,
            method: request.method,
            hostname: request.hostname,
            port: request.port,
            path: qs ? `${request.path}?${qs}` : request.path,
            headers: request.headers,
            ...(options.requestTimeout ? { timeout: options.requestTimeout } : {}),
          },
          (res) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
            resolve({
              response: {
                statusCode: res.statusCode ?? 0,
                reason: res.statusMessage ?? '',
                headers,
                body: res,
              },
            });
          },
        );
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        if (options.abortSignal) {
          const signal = options.abortSignal;
          if (signal.aborted) req.destroy(new Error('request aborted'));
          else
            signal.addEventListener('abort', () => req.destroy(new Error('request aborted')), { once: true });
        }
        const body = request.body;
        if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) req.end(body);
        else body.pipe(req);
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {
      agent.destroy();
    },
  };
}
