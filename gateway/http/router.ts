/**
 * The routing table: exact paths (Binance's REST paths have no path parameters), one route per
 * method. A path that is not in the table is 404; a known path with another method is 405.
 */
import type { Route } from './http-types.ts';

/** The outcome of a lookup. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route }
  | { readonly kind: 'unknown-path' }
  | { readonly kind: 'wrong-method'; readonly allow: string };

/** Routes by path, then method. */
export class Router {
  private readonly table = new Map<string, Map<string, Route>>();

  /** Throws when two routes share a method and path (a wiring mistake caught at start). */
  constructor(routes: readonly Route[]) {
    for (const r of routes) this.add(r);
  }

  /** Adds a route; throws on a duplicate. */
  add(route: Route): void {
    let byMethod = this.table.get(route.path);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.table.set(route.path, byMethod);
    }
    if (byMethod.has(route.method)) throw new Error(`route ${route.method} ${route.path} is defined twice`);
    byMethod.set(route.method, route);
  }

  /** The route for `method` (upper case) and `path`; HEAD is not served. */
  match(method: string, path: string): RouteMatch {
    const byMethod = this.table.get(path);
    if (byMethod === undefined) return { kind: 'unknown-path' };
    const route = byMethod.get(method);
    if (route === undefined) return { kind: 'wrong-method', allow: [...byMethod.keys()].join(', ') };
    return { kind: 'found', route };
  }
}
