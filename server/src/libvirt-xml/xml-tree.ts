import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { invalidField } from '../errors';

/** An element of a parsed document: attributes by name, child elements in document order, its own text. */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/** fast-xml-parser's preserveOrder shape: one key for the element, ':@' for its attributes. */
type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Numeric character references (&#10;) are XML; named entities come only from a DOCTYPE, refused below.
  htmlEntities: true,
});

/** A document type declaration can define entities (XXE, billion laughs): refused before any parsing. */
const DOCTYPE = /<!(DOCTYPE|ENTITY)/i;

/**
 * Parses an untrusted XML document into its root element. Not well-formed, a DOCTYPE, or not exactly one root
 * element → INVALID_ARGUMENT on `field`.
 */
export function parseXmlTree(xml: string, field: string): XmlNode {
  if (DOCTYPE.test(xml)) throw invalidField(field, 'DOCTYPE and entity declarations are not accepted');
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) throw invalidField(field, `not well-formed XML: ${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`);
  let items: OrderedNode[];
  try {
    items = parser.parse(xml) as OrderedNode[];
  } catch (err) {
    // The parser's own limits (nesting depth) on a well-formed but hostile document.
    throw invalidField(field, `not accepted: ${(err as Error).message}`);
  }
  const roots = toNodes(items);
  if (roots.length !== 1) throw invalidField(field, `expected one root element, found ${roots.length}`);
  return roots[0]!;
}

function toNodes(items: OrderedNode[]): XmlNode[] {
  const nodes: XmlNode[] = [];
  for (const item of items) {
    const name = Object.keys(item).find((k) => k !== ':@');
    // Text, comments and processing instructions (<?xml?>) are not elements.
    if (name === undefined || name === '#text' || name.startsWith('?') || name.startsWith('#')) continue;
    const content = item[name] as OrderedNode[];
    const text = content
      .filter((c) => '#text' in c)
      .map((c) => String(c['#text']))
      .join('');
    nodes.push({ name, attrs: { ...item[':@'] }, children: toNodes(content), text });
  }
  return nodes;
}

/** The children of `node` called `name`. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The first child of `node` called `name`. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((c) => c.name === name);
}
