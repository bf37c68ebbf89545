import { XMLBuilder } from 'fast-xml-parser';

/** Attribute keys start with this prefix in the objects handed to buildXml: { '@_name': 'x' } → name="x". */
export const ATTR = '@_';
/** Key of an element's text when it also has attributes: { '@_unit': 'KiB', '#text': 1024 }. */
export const TEXT = '#text';
/** Key of a comment: { '#comment': 'why' } → <!--why-->. */
export const COMMENT = '#comment';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: TEXT,
  commentPropName: COMMENT,
  format: true,
  indentBy: '  ',
  // '' values become empty elements (<power_management/>), as libvirt prints them.
  suppressEmptyNode: true,
});

/** An XML document from a plain object tree (element order = key order; arrays repeat an element). */
export function buildXml(document: Record<string, unknown>): string {
  return builder.build(document) as string;
}

/**
 * Key of children whose order across element names matters, as one-element objects in document order:
 * { [CHILDREN]: [{ disk: {...} }, { rng: {...} }, { disk: {...} }] } (buildOrderedXml only).
 */
export const CHILDREN = '#children';

type OrderedItem = Record<string, unknown>;

const orderedBuilder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: TEXT,
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
});

/** fast-xml-parser's preserveOrder form of one element given as buildXml takes it. */
function ordered(name: string, value: unknown): OrderedItem[] {
  if (Array.isArray(value)) return value.flatMap((v) => ordered(name, v));
  if (value === null || typeof value !== 'object') return [{ [name]: value === '' ? [] : [{ [TEXT]: String(value) }] }];
  const children: OrderedItem[] = [];
  const attributes: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith(ATTR)) attributes[key] = v;
    else if (key === TEXT) children.push({ [TEXT]: String(v) });
    else if (key === CHILDREN) for (const item of v as Record<string, unknown>[]) for (const [k, c] of Object.entries(item)) children.push(...ordered(k, c));
    else children.push(...ordered(key, v));
  }
  return [Object.keys(attributes).length > 0 ? { [name]: children, ':@': attributes } : { [name]: children }];
}

/** buildXml for documents where some children interleave element names in a given order (CHILDREN). */
export function buildOrderedXml(document: Record<string, unknown>): string {
  const items = Object.entries(document).flatMap(([name, value]) => ordered(name, value));
  return `${(orderedBuilder.build(items) as string).trimStart()}`;
}
