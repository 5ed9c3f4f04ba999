// A strict, small XML well-formedness checker for the SVG tests (no XML parser is a dependency): one root,
// properly nested and closed elements, quoted unique attributes, known entities, nothing outside the root.

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;

function decode(text: string, at: number): string {
  return text.replace(/&([^;]*);/g, (m, e: string) => {
    const known: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (known[e] !== undefined) return known[e];
    if (/^#\d+$/.test(e)) return String.fromCodePoint(Number(e.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(e)) return String.fromCodePoint(parseInt(e.slice(2), 16));
    throw new Error(`unknown entity ${m} near ${at}`);
  });
}

/** Parses `xml` or throws with the position of the first problem. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = lt < 0 ? xml.slice(i) : xml.slice(i, lt);
    if (text.includes('>')) throw new Error(`stray ">" at ${i}`);
    if (stack.length > 0) stack[stack.length - 1]!.text += decode(text, i);
    else if (text.trim() !== '') throw new Error(`text outside the root at ${i}`);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) throw new Error(`unterminated comment at ${i}`);
      i = end + 3;
      continue;
    }
    if (xml[i + 1] === '/') {
      const end = xml.indexOf('>', i);
      const name = xml.slice(i + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`closing </${name}> does not match at ${i}`);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(xml.slice(i + 1));
    if (!m) throw new Error(`bad element name at ${i}`);
    const el: XmlElement = { name: m[0], attrs: {}, children: [], text: '' };
    i += 1 + m[0].length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml.startsWith('/>', i) || xml[i] === '>') break;
      const a = NAME.exec(xml.slice(i));
      if (!a) throw new Error(`bad attribute at ${i}`);
      i += a[0].length;
      if (xml[i] !== '=' || (xml[i + 1] !== '"' && xml[i + 1] !== "'"))
        throw new Error(`unquoted attribute ${a[0]} at ${i}`);
      const q = xml[i + 1]!;
      const end = xml.indexOf(q, i + 2);
      if (end < 0) throw new Error(`unterminated attribute ${a[0]}`);
      if (attrs[a[0]] !== undefined) throw new Error(`duplicate attribute ${a[0]} at ${i}`);
      const value = xml.slice(i + 2, end);
      if (value.includes('<')) throw new Error(`"<" in attribute ${a[0]}`);
      attrs[a[0]] = decode(value, i);
      i = end + 1;
    }
    Object.assign(el.attrs, attrs);
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else if (root) throw new Error(`second root element at ${i}`);
    else root = el;
    if (xml.startsWith('/>', i)) i += 2;
    else {
      i += 1;
      stack.push(el);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) throw new Error('no root element');
  return root;
}

/** Every element of a tree, depth first. */
export function allElements(el: XmlElement): XmlElement[] {
  return [el, ...el.children.flatMap(allElements)];
}
