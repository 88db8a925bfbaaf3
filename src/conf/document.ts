// Reading one libvirt XML document (virXMLParse): syntax errors carry libxml2's
// text with the document's name, and the root element must be the expected one.

import { readFileSync } from 'node:fs';
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { parseXml, parseXmlBytes, XmlSyntaxError, type XmlElement } from '../util/xml.js';

/**
 * Parses `text` whose root must be `rootName` (any root when omitted). `url` names the document in
 * syntax errors, e.g. '(network_definition)' for XML given as a string.
 */
export function parseDocument(text: string, url: string, rootName?: string): XmlElement {
  return checkRoot(withSyntaxErrors(() => parseXml(text), url), rootName);
}

/**
 * Reads and parses a file. Like libxml2, a file that cannot be read prints an
 * "I/O warning" line on stderr before libvirt's own error is raised. The errors
 * carry the caller's domain (virXMLParse reports with the caller's VIR_FROM_THIS).
 */
export function parseDocumentFile(file: string, rootName: string, domain = ErrorDomain.XML): XmlElement {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
      // libxml2 opens a directory, fails to read it and parses nothing.
      process.stderr.write('I/O error : Is a directory\n');
      throw virError(ErrorCode.XML_DETAIL, new XmlSyntaxError('Document is empty', 1, '', 0).format(file), domain);
    }
    process.stderr.write(`I/O warning : failed to load external entity "${file}"\n`);
    throw virError(ErrorCode.XML_ERROR, `failed to parse xml document '${file}'`, domain);
  }
  return checkRoot(withSyntaxErrors(() => parseXmlBytes(bytes), file, domain), rootName, domain);
}

function withSyntaxErrors(parse: () => XmlElement, url: string, domain = ErrorDomain.XML): XmlElement {
  try {
    return parse();
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw virError(ErrorCode.XML_DETAIL, e.format(url), domain);
    throw e;
  }
}

function checkRoot(root: XmlElement, rootName: string | undefined, domain = ErrorDomain.XML): XmlElement {
  if (rootName !== undefined && root.name !== rootName) {
    throw virError(ErrorCode.XML_ERROR, `expecting root element of '${rootName}', not '${root.name}'`, domain);
  }
  return root;
}
