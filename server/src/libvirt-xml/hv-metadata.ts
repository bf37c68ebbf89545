/**
 * What a DomainSpec holds that libvirt's domain XML has no element for travels in the document's <metadata>, in
 * hv's own namespace (libvirt keeps such elements as they are): the boot format with a raw image's load and entry
 * addresses, the debug-exit port, and labels.
 *   <metadata><hv:domain xmlns:hv="urn:hv:domain:1">
 *     <hv:boot format="raw" load_address="0x100000" entry_address="0x100000"/>
 *     <hv:platform debug_exit="yes"/>
 *     <hv:label key="team">infra</hv:label>
 *   </hv:domain></metadata>
 * Device ids travel as libvirt's user aliases: <alias name="ua-disk0"/> is device id "disk0".
 */
export const HV_NAMESPACE = 'urn:hv:domain:1';
export const HV_PREFIX = 'hv';
/** libvirt's prefix for aliases chosen by the user (kept across restarts, unlike the ones libvirt assigns). */
export const USER_ALIAS_PREFIX = 'ua-';

/** BootFormat values by their metadata name. */
export const BOOT_FORMAT_NAMES = ['pvh', 'linux', 'raw'] as const;
