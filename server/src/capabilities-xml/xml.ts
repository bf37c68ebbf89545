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
