/**
 * Client addresses: uWS reports them fully expanded (`0000:...:ffff:7f00:0001`); we report the
 * usual short text (`127.0.0.1`, `::1`) so that allow-lists, rate-limit keys and logs agree.
 * X-Forwarded-For is believed only behind a trusted proxy, counting hops from the right (the
 * entries a client writes itself are on the left and prove nothing).
 */
import { BlockList, isIP, isIPv4 } from 'node:net';

/** An address in its short canonical text; IPv4-mapped IPv6 addresses become dotted IPv4. */
export function normalizeIp(text: string): string {
  return addressOf(text) ?? text.trim();
}

/**
 * Addresses already normalised (null: not an address), so that the few peers and forwarded
 * addresses a gateway sees are parsed once, not on every request (uWS reports IPv4 peers of a
 * dual-stack socket as `0000:0000:0000:0000:0000:ffff:7f00:0001`, which takes a URL parse).
 */
const addresses = new Map<string, string | null>();
const ADDRESSES_MAX = 10_000;

/** `text` as a normalised address, or null when it is none. */
function addressOf(text: string): string | null {
  let a = addresses.get(text);
  if (a === undefined) {
    a = parseAddress(text);
    if (addresses.size >= ADDRESSES_MAX) addresses.clear();
    addresses.set(text, a);
  }
  return a;
}

function parseAddress(text: string): string | null {
  const t = text.trim();
  if (isIPv4(t)) return t;
  if (isIP(t) !== 6) return null;
  const host = new URL(`http://[${t}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped !== null) {
    const hi = Number.parseInt(mapped[1]!, 16);
    const lo = Number.parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  return dotted !== null ? dotted[1]! : host;
}

/**
 * The client's address. `trustedHops` is how many proxies in front of us append to
 * X-Forwarded-For (0: ignore the header). With n hops the client is the n-th address from the
 * right of `X-Forwarded-For, <peer>`; a missing or malformed entry falls back to the peer.
 */
export function clientIp(peer: string, forwardedFor: string | undefined, trustedHops: number): string {
  return forwardedClientIp(forwardedFor, trustedHops) ?? normalizeIp(peer);
}

/**
 * The client's address as X-Forwarded-For gives it with `trustedHops` proxies in front (see
 * `clientIp`); null when the TCP peer decides (no trusted hops, no usable entry). The server
 * asks for the peer's address only then: reading it from uWS costs an ArrayBuffer per request.
 */
export function forwardedClientIp(forwardedFor: string | undefined, trustedHops: number): string | null {
  if (trustedHops <= 0 || forwardedFor === undefined || forwardedFor === '') return null;
  let candidate: string | undefined;
  if (!forwardedFor.includes(',')) {
    // One entry (one proxy in front, the usual case): it is the client with any number of hops.
    const only = forwardedFor.trim();
    if (only !== '') candidate = only;
  } else {
    const chain = forwardedFor
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // The chain is `entries..., peer`: the client is `trustedHops` from its right, else its first.
    candidate = chain[chain.length - trustedHops] ?? chain[0];
  }
  return candidate === undefined ? null : addressOf(candidate);
}

const allowLists = new Map<string, BlockList | null>();
const ALLOW_LIST_CACHE_MAX = 10_000;

/** A BlockList of the entries (addresses or CIDR blocks); null when an entry is unusable. */
function compile(entries: readonly string[]): BlockList | null {
  const list = new BlockList();
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    const addr = normalizeIp(slash < 0 ? entry : entry.slice(0, slash));
    const family = isIP(addr);
    if (family === 0) return null;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) list.addAddress(addr, type);
    else {
      const bits = entry.slice(slash + 1);
      const prefix = Number(bits);
      if (!/^[0-9]{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) return null;
      list.addSubnet(addr, prefix, type);
    }
  }
  return list;
}

/**
 * True when `ip` may use a key with this allow-list (empty: any address). An entry that is not
 * an address or CIDR block makes the list match nothing: a broken list must fail closed.
 */
export function ipAllowed(ip: string, allow: readonly string[]): boolean {
  if (allow.length === 0) return true;
  const cacheKey = allow.join(',');
  let list = allowLists.get(cacheKey);
  if (list === undefined) {
    list = compile(allow);
    if (allowLists.size >= ALLOW_LIST_CACHE_MAX) allowLists.clear();
    allowLists.set(cacheKey, list);
  }
  if (list === null) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
