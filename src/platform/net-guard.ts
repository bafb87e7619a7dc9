/**
 * The platform's SSRF guard, used by the generic HTTP connector and the MCP client (connector
 * gateway) and by webhook notifications (src/notifications). A target is refused unless its
 * caller allows private networks (a connector policy's `allowPrivateNetworks`) when **any** address its host resolves to is loopback, private,
 * link-local (cloud metadata 169.254.169.254 included), CGNAT, multicast, reserved or
 * unspecified, IPv4 or IPv6 (IPv4-mapped and NAT64 forms are unwrapped). The check runs inside
 * the socket's `lookup`, so the address connected to is the address checked (no DNS rebinding
 * between check and connect).
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { AppError } from './errors';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64],
] as const) blocked.addSubnet(net, bits, 'ipv6');

/** True for any address a tool call must not reach without allowPrivateNetworks. */
export function isBlockedAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const family = isIP(a);
  if (family === 4) return blocked.check(a, 'ipv4');
  if (family !== 6) return true; // not an address: refuse
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a) ?? /^64:ff9b::(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(a)) return true; // mapped v4 in hex form: refuse
  return blocked.check(a, 'ipv6');
}

/** `host` is on the allow-list (`*.example.com` allows subdomains, not the apex). */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return allowedHosts.some((entry) => {
    const e = entry.toLowerCase();
    if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
    return h === e;
  });
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

export function privateTargetDenied(host: string): AppError {
  return new AppError('POLICY_DENIED', 'The target resolves to a private, loopback or link-local address; the instance policy does not allow private networks', { host, reason: 'private_network' });
}

/** Resolves `host` and checks every address; answers the addresses to connect to. */
export async function resolveChecked(host: string, allowPrivate: boolean, resolver: Resolver): Promise<{ address: string; family: number }[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addrs = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await resolver(bare);
  if (!addrs.length) throw new Error(`no address for ${host}`);
  if (!allowPrivate && addrs.some((a) => isBlockedAddress(a.address))) throw privateTargetDenied(host);
  return addrs;
}

/**
 * A socket `lookup` that connects only to checked addresses. `dial` (tests only) maps a checked
 * address to the one actually dialled, so a test can make a "public" name reach a local server.
 */
export function guardedLookup(allowPrivate: boolean, resolver: Resolver, dial: (address: string) => string = (a) => a): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    resolveChecked(hostname, allowPrivate, resolver).then(
      (checked) => {
        const addrs = checked.map((a) => ({ address: dial(a.address), family: isIP(dial(a.address)) }));
        return options?.all ? callback(null, addrs) : callback(null, addrs[0]!.address, addrs[0]!.family);
      },
      (err) => callback(err),
    );
  }) as unknown as LookupFunction;
}
