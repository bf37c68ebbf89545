import { createHash } from 'node:crypto';

/** A MAC address as written in specs: six two-digit hex octets separated by colons. */
const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** First-octet bit: a group (multicast/broadcast) address, never a NIC's own. */
const MAC_GROUP_BIT = 0x01;
/** Prefix of generated MACs, as libvirt and QEMU use (first octet 0x52: locally administered, unicast). */
export const GENERATED_MAC_PREFIX = [0x52, 0x54, 0x00] as const;

/** Six bytes from "52:54:00:12:34:56", or undefined if the text is not a MAC address. */
export function parseMac(text: string): Uint8Array | undefined {
  if (!MAC_TEXT.test(text)) return undefined;
  return Uint8Array.from(text.split(':').map((octet) => parseInt(octet, 16)));
}

/** Lower-case colon form. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Why a MAC cannot be a NIC's own address (a group address, or all zeros), or undefined. */
export function macProblem(mac: Uint8Array): string | undefined {
  if ((mac[0] & MAC_GROUP_BIT) !== 0) return 'is a multicast/broadcast address (the first octet must be even)';
  if (mac.every((b) => b === 0)) return 'is all zeros';
  return undefined;
}

/** 52:54:00 plus three bytes hashed from the domain uuid and the device's index: the same on every start. */
export function generateMac(domainUuid: string, deviceIndex: number): string {
  const digest = createHash('sha256').update(`${domainUuid.toLowerCase()}/nic/${deviceIndex}`).digest();
  return formatMac(Uint8Array.of(...GENERATED_MAC_PREFIX, digest[0], digest[1], digest[2]));
}
