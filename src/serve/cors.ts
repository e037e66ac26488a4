// CORS for `wgpool serve`, so a page on another origin can call it: `--allowed-origins`,
// `--allowed-methods`, `--allowed-headers` as vLLM names them (vLLM hands them to Starlette's
// CORSMiddleware; the rules below are that middleware's): a preflight (OPTIONS with
// Access-Control-Request-Method) is answered here — 200 when origin, method and every requested
// header are allowed, 400 naming what is not — and every other answer to an allowed origin carries
// Access-Control-Allow-Origin. "*" allows all. Credentials are not allowed (vLLM's default), so "*"
// is sent literally for all origins.
//
// Unlike vLLM, whose defaults are ["*"], wgpool sends no CORS headers unless origins are given: a
// server on loopback that every web page may call is an open door to the user's GPU and files.

export interface CorsOptions {
  allowedOrigins: string[];
  /** Default ['*']. */
  allowedMethods?: string[];
  /** Default ['*']. */
  allowedHeaders?: string[];
}

/** Headers every CORS answer may send without being listed (CORS-safelisted request headers). */
const SAFELISTED = new Set(['accept', 'accept-language', 'content-language', 'content-type']);

export class Cors {
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;
  private readonly anyMethod: boolean;
  private readonly methods: string[];
  private readonly anyHeader: boolean;
  private readonly headers: Set<string>;

  constructor(o: CorsOptions) {
    this.anyOrigin = o.allowedOrigins.includes('*');
    this.origins = new Set(o.allowedOrigins);
    const methods = o.allowedMethods ?? ['*'];
    this.anyMethod = methods.includes('*');
    this.methods = this.anyMethod ? ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] : methods.map((m) => m.toUpperCase());
    const headers = o.allowedHeaders ?? ['*'];
    this.anyHeader = headers.includes('*');
    this.headers = new Set([...headers.map((h) => h.toLowerCase()), ...SAFELISTED]);
  }

  private originAllowed(origin: string): boolean {
    return this.anyOrigin || this.origins.has(origin);
  }

  private allowOrigin(origin: string, h: Headers): void {
    if (this.anyOrigin) h.set('access-control-allow-origin', '*');
    else {
      h.set('access-control-allow-origin', origin);
      h.append('vary', 'Origin');
    }
  }

  /** The answer to a preflight request, or null when the request is not one. */
  preflight(request: Request): Response | null {
    const origin = request.headers.get('origin');
    const method = request.headers.get('access-control-request-method');
    if (request.method !== 'OPTIONS' || origin === null || method === null) return null;
    const failures: string[] = [];
    if (!this.originAllowed(origin)) failures.push('origin');
    if (!this.anyMethod && !this.methods.includes(method.toUpperCase())) failures.push('method');
    const requested = (request.headers.get('access-control-request-headers') ?? '')
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter(Boolean);
    if (!this.anyHeader && requested.some((x) => !this.headers.has(x))) failures.push('headers');
    const h = new Headers({ 'content-type': 'text/plain; charset=utf-8', 'access-control-max-age': '600' });
    h.set('access-control-allow-methods', this.methods.join(', '));
    if (this.anyHeader && requested.length) h.set('access-control-allow-headers', requested.join(', '));
    else if (!this.anyHeader) h.set('access-control-allow-headers', [...this.headers].join(', '));
    if (failures.length) {
      // Starlette's wording; the browser sees a failed preflight either way.
      if (!this.anyOrigin) h.append('vary', 'Origin');
      return new Response(`Disallowed CORS ${failures.join(', ')}`, { status: 400, headers: h });
    }
    this.allowOrigin(origin, h);
    return new Response('OK', { status: 200, headers: h });
  }

  /** Add Access-Control-Allow-Origin to an answer for an allowed origin. */
  decorate(request: Request, response: Response): Response {
    const origin = request.headers.get('origin');
    if (origin !== null && this.originAllowed(origin)) this.allowOrigin(origin, response.headers);
    // Let pages read the timing and metadata headers of answers.
    if (origin !== null && this.originAllowed(origin)) {
      response.headers.set('access-control-expose-headers', 'metadata, x-request-id, server-timing, x-wgpool-total-ms, x-wgpool-queue-ms, x-wgpool-inference-ms');
    }
    return response;
  }
}
