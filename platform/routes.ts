/**
 * The gateway's routes beyond the general ones and the admin API, built from the platform's
 * parts.
 */
import type { Route } from '../gateway/http/http-types.ts';
import type { PlatformParts } from './platform.ts';

/** Every route of a gateway of this platform. */
export function gatewayRoutes(_parts: PlatformParts): Route[] {
  return [];
}
