/**
 * Model-driven XML for the query protocol's responses and REST-XML (S3) bodies: a safe
 * parser front (no DOCTYPE, no entity expansion, bounded depth, strict UTF-8) and
 * a writer that lays out elements in model order with AWS's list, map, flattened,
 * attribute and namespace rules.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { shapeOf } from './model.js';
import type { ServiceModel, Shape, ShapeRef, StructureShape, XmlNamespace } from './model.js';
import {
  decodeBase64,
  decodeUtf8,
  formatTimestamp,
  isRecord,
  numberText,
  outputBytes,
  outputDate,
  outputNumber,
  parseBooleanText,
  parseFloatText,
  parseIntegerText,
  parseTimestampText,
  setOwn,
} from './values.js';

// ---------------------------------------------------------------------------
// Writing

/** Escapes text for element content and attribute values. */
export function xmlEscape(text: string): string {
  return text.replace(/[&<>"'\r\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`;
    }
  });
}

/** `xmlns` / `xmlns:prefix` attribute text for a namespace trait. */
function namespaceAttr(ns: XmlNamespace | undefined): string {
  if (!ns) return '';
  return ns.prefix ? ` xmlns:${ns.prefix}="${xmlEscape(ns.uri)}"` : ` xmlns="${xmlEscape(ns.uri)}"`;
}

/** The element name a structure member is written and read under. */
export function xmlMemberName(model: ServiceModel, name: string, ref: ShapeRef): string {
  const shape = shapeOf(model, ref);
  if (shape.type === 'list' && (ref.flattened || shape.flattened) && shape.member.locationName) {
    return shape.member.locationName;
  }
  return ref.locationName ?? name;
}

/** Text of a scalar value, or undefined when the value does not fit the shape. */
function scalarText(shape: Shape, ref: ShapeRef, value: unknown): string | undefined {
  switch (shape.type) {
    case 'string':
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : undefined;
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const n = outputNumber(value);
      return n === undefined ? undefined : numberText(n);
    }
    case 'timestamp': {
      const date = outputDate(value);
      return date ? formatTimestamp(date, ref.timestampFormat ?? shape.timestampFormat ?? 'iso8601') : undefined;
    }
    case 'blob': {
      const bytes = outputBytes(value);
      return bytes?.toString('base64');
    }
    default:
      return undefined;
  }
}

/**
 * Writes the child elements of a structure (members in model order, attributes left
 * to {@link writeXmlElement}). `skip` leaves out members that travel elsewhere.
 */
export function writeXmlMembers(
  model: ServiceModel,
  shape: StructureShape,
  value: Record<string, unknown>,
  out: string[],
  skip?: (ref: ShapeRef) => boolean,
): void {
  // The trimmed models list members alphabetically; xmlOrder, where S3 gives one, is the real order.
  const names = shape.xmlOrder ?? Object.keys(shape.members);
  for (const name of names) {
    const ref = shape.members[name];
    if (!ref || ref.xmlAttribute || skip?.(ref)) continue;
    const v = value[name];
    if (v === undefined || v === null) continue;
    writeXmlElement(model, ref.locationName ?? name, ref, v, out);
  }
}

/** Writes one value as an element named `name` (a flattened list writes one per item). */
export function writeXmlElement(
  model: ServiceModel,
  name: string,
  ref: ShapeRef,
  value: unknown,
  out: string[],
  rootNamespace?: XmlNamespace,
): void {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case 'structure': {
      if (!isRecord(value)) return;
      let attrs = namespaceAttr(rootNamespace ?? ref.xmlNamespace ?? shape.xmlNamespace);
      for (const [memberName, memberRef] of Object.entries(shape.members)) {
        if (!memberRef.xmlAttribute) continue;
        const v = value[memberName];
        const text = v === undefined || v === null ? undefined : scalarText(shapeOf(model, memberRef), memberRef, v);
        if (text === undefined) continue;
        if (memberRef.xmlNamespace) attrs += namespaceAttr(memberRef.xmlNamespace);
        attrs += ` ${memberRef.locationName ?? memberName}="${xmlEscape(text)}"`;
      }
      out.push(`<${name}${attrs}>`);
      writeXmlMembers(model, shape, value, out);
      out.push(`</${name}>`);
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) return;
      const itemRef = shape.member;
      if (ref.flattened || shape.flattened) {
        const itemName = itemRef.locationName ?? name;
        for (const item of value) if (item !== undefined && item !== null) writeXmlElement(model, itemName, itemRef, item, out);
        return;
      }
      out.push(`<${name}${namespaceAttr(rootNamespace)}>`);
      const itemName = itemRef.locationName ?? 'member';
      for (const item of value) if (item !== undefined && item !== null) writeXmlElement(model, itemName, itemRef, item, out);
      out.push(`</${name}>`);
      return;
    }
    case 'map': {
      const entries = value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : isRecord(value) ? Object.entries(value) : [];
      const keyName = shape.key.locationName ?? 'key';
      const valueName = shape.value.locationName ?? 'value';
      const flattened = ref.flattened || shape.flattened;
      if (!flattened) out.push(`<${name}${namespaceAttr(rootNamespace)}>`);
      for (const [k, v] of entries) {
        if (v === undefined || v === null) continue;
        out.push(flattened ? `<${name}>` : '<entry>');
        writeXmlElement(model, keyName, shape.key, String(k), out);
        writeXmlElement(model, valueName, shape.value, v, out);
        out.push(flattened ? `</${name}>` : '</entry>');
      }
      if (!flattened) out.push(`</${name}>`);
      return;
    }
    default: {
      const text = scalarText(shape, ref, value);
      if (text === undefined) return;
      out.push(`<${name}${namespaceAttr(rootNamespace ?? ref.xmlNamespace)}>${xmlEscape(text)}</${name}>`);
    }
  }
}

// ---------------------------------------------------------------------------
// Reading

/** An element as the parser yields it: children by name (always arrays), `#text`, `@_attr`. */
export type XmlNode = Record<string, unknown>;

/** Deeper documents are refused before parsing; S3's schemas nest fewer than ten levels. */
export const MAX_XML_DEPTH = 64;

/** Why a document was refused; the codec turns it into the protocol's error. */
export class XmlSyntaxError extends Error {}

/**
 * Parses an XML document safely and returns its root element's name and node.
 * Throws {@link XmlSyntaxError} for invalid UTF-8, DOCTYPE or entity declarations,
 * undefined entities, excessive nesting or malformed markup.
 */
export function parseXmlDocument(body: Buffer): { name: string; node: XmlNode } {
  const text = decodeUtf8(body);
  if (text === undefined) throw new XmlSyntaxError('Body is not valid UTF-8.');
  // No document type means no entity declarations: the entity-expansion attacks
  // (billion laughs, external entities) have nothing to expand.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlSyntaxError('DOCTYPE declarations are not allowed.');
  checkXmlDepth(text);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) throw new XmlSyntaxError(valid.err.msg);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    alwaysCreateTextNode: true,
    isArray: () => true,
  });
  const doc = parser.parse(text) as unknown;
  if (!isRecord(doc)) throw new XmlSyntaxError('Empty document.');
  const roots = Object.entries(doc).filter(([k]) => !k.startsWith('#') && !k.startsWith('@_'));
  const first = roots[0];
  if (roots.length !== 1 || !first) throw new XmlSyntaxError('A document has exactly one root element.');
  const [name, nodes] = first;
  if (Array.isArray(nodes) && nodes.length !== 1) throw new XmlSyntaxError('A document has exactly one root element.');
  const node = Array.isArray(nodes) ? (nodes[0] as unknown) : nodes;
  return { name, node: isRecord(node) ? node : { '#text': typeof node === 'string' ? node : '' } };
}

/** Counts element nesting without recursion, ignoring comments and CDATA. */
function checkXmlDepth(text: string): void {
  let depth = 0;
  let i = 0;
  while ((i = text.indexOf('<', i)) !== -1) {
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      i = end === -1 ? text.length : end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      i = end === -1 ? text.length : end + 3;
      continue;
    }
    const close = text.indexOf('>', i);
    if (close === -1) return; // the validator reports the truncation
    const next = text[i + 1];
    if (next === '/') depth--;
    else if (next !== '?' && next !== '!' && text[close - 1] !== '/') {
      if (++depth > MAX_XML_DEPTH) throw new XmlSyntaxError(`Document is nested deeper than ${MAX_XML_DEPTH} levels.`);
    }
    i = close + 1;
  }
}

const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));|&/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML's five predefined entities and character references; anything else is an error. */
export function decodeXmlText(text: string): string {
  return text.replace(ENTITY, (whole, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (named) return NAMED[named] ?? whole;
    const code = dec !== undefined ? Number(dec) : hex !== undefined ? parseInt(hex, 16) : NaN;
    if (!Number.isInteger(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new XmlSyntaxError('Undefined entity or bad character reference.');
    }
    return String.fromCodePoint(code);
  });
}

/** Text content of an element node. */
function textOf(node: unknown): string {
  if (typeof node === 'string') return decodeXmlText(node);
  if (isRecord(node)) {
    const t = node['#text'];
    if (Array.isArray(t)) return decodeXmlText(t.map((x) => String(x)).join(''));
    if (typeof t === 'string' || typeof t === 'number') return decodeXmlText(String(t));
  }
  return '';
}

function children(node: unknown, name: string): unknown[] {
  if (!isRecord(node) || !Object.hasOwn(node, name)) return [];
  const c = node[name];
  return Array.isArray(c) ? c : [c];
}

/** Why a value could not be read: the codec maps it to MalformedXML or the like. */
export class XmlValueError extends Error {}

/**
 * Reads a structure's members from an element node. `skip` leaves out members that
 * travel elsewhere (labels, headers, query).
 */
export function readXmlStructure(
  model: ServiceModel,
  shape: StructureShape,
  node: unknown,
  skip?: (ref: ShapeRef) => boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, ref] of Object.entries(shape.members)) {
    if (skip?.(ref)) continue;
    const memberShape = shapeOf(model, ref);
    if (ref.xmlAttribute) {
      const attr = isRecord(node) ? node['@_' + (ref.locationName ?? name)] : undefined;
      if (typeof attr === 'string') out[name] = readScalar(memberShape, ref, decodeXmlText(attr), name);
      continue;
    }
    const elements = children(node, xmlMemberName(model, name, ref));
    if (elements.length === 0) continue;
    if (memberShape.type === 'list' && (ref.flattened || memberShape.flattened)) {
      out[name] = elements.map((e) => readXmlValue(model, memberShape.member, e, name));
      continue;
    }
    if (memberShape.type === 'map' && (ref.flattened || memberShape.flattened)) {
      out[name] = readMapEntries(model, memberShape.key, memberShape.value, elements, name);
      continue;
    }
    out[name] = readXmlValue(model, ref, elements[0], name);
  }
  return out;
}

function readMapEntries(model: ServiceModel, keyRef: ShapeRef, valueRef: ShapeRef, entries: unknown[], path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keyName = keyRef.locationName ?? 'key';
  const valueName = valueRef.locationName ?? 'value';
  for (const entry of entries) {
    const k = children(entry, keyName)[0];
    const v = children(entry, valueName)[0];
    if (k === undefined) continue;
    setOwn(out, textOf(k), v === undefined ? undefined : readXmlValue(model, valueRef, v, `${path}.${textOf(k)}`));
  }
  return out;
}

/** Reads one element's value by its shape. */
export function readXmlValue(model: ServiceModel, ref: ShapeRef, node: unknown, path: string): unknown {
  const shape = shapeOf(model, ref);
  switch (shape.type) {
    case 'structure':
      return readXmlStructure(model, shape, node);
    case 'list': {
      const itemName = shape.member.locationName ?? 'member';
      return children(node, itemName).map((item, i) => readXmlValue(model, shape.member, item, `${path}.${i + 1}`));
    }
    case 'map':
      return readMapEntries(model, shape.key, shape.value, children(node, 'entry'), path);
    default:
      return readScalar(shape, ref, textOf(node), path);
  }
}

function readScalar(shape: Shape, ref: ShapeRef, text: string, path: string): unknown {
  const fail = (what: string) => new XmlValueError(`Expected ${what} for '${path}'.`);
  switch (shape.type) {
    case 'string':
      return text;
    case 'boolean': {
      const b = parseBooleanText(text);
      if (b === undefined) throw fail('a boolean');
      return b;
    }
    case 'integer':
    case 'long': {
      const n = parseIntegerText(text, shape.type);
      if (n === undefined) throw fail('an integer');
      return n;
    }
    case 'double':
    case 'float': {
      const n = parseFloatText(text);
      if (n === undefined) throw fail('a number');
      return n;
    }
    case 'timestamp': {
      const d = parseTimestampText(text, ref.timestampFormat ?? shape.timestampFormat ?? 'iso8601');
      if (!d) throw fail('a timestamp');
      return d;
    }
    case 'blob': {
      const bytes = decodeBase64(text);
      if (!bytes) throw fail('base64 data');
      return bytes;
    }
    default:
      throw fail('a scalar');
  }
}
