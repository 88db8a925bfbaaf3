// Domain security labels (<seclabel>) as libvirt parses them for an inactive
// definition (virSecurityLabelDefsParseXML) and prints them.

import { ErrorCode, virError } from '../util/error.js';
import { child, childrenNamed, element, type XmlElement } from '../util/xml.js';
import { propEnum, propYesNo } from './xml-props.js';

const SECLABEL_TYPES = ['default', 'none', 'dynamic', 'static'];

/** virSecurityLabelDefParseXML for an inactive definition. */
function parseSeclabel(label: XmlElement): void {
  const type = propEnum(label, 'type', SECLABEL_TYPES, { nonzero: true }) ?? 'dynamic';
  const relabelAttr = propYesNo(label, 'relabel');
  const relabel = relabelAttr === undefined ? type === 'dynamic' : relabelAttr === 'yes';
  if (type === 'dynamic' && !relabel) throw virError(ErrorCode.CONFIG_UNSUPPORTED, 'dynamic label type must use resource relabeling');
  if (type === 'none' && relabel) throw virError(ErrorCode.CONFIG_UNSUPPORTED, "resource relabeling is not compatible with 'none' label type");
  const model = label.attrs['model'];
  const text = (name: string) => child(label, name)?.text;
  const children: XmlElement[] = [];
  if (model !== 'none' && type === 'static') {
    const value = text('label');
    if (value === undefined || value === '') throw virError(ErrorCode.XML_ERROR, 'security label is missing');
    children.push(element('label', {}, [], value));
  }
  const baselabel = text('baselabel');
  if (model !== 'none' && type === 'dynamic' && baselabel !== undefined) children.push(element('baselabel', {}, [], baselabel));
  label.children = children;
  label.attrs = { type: model === 'none' ? 'none' : type, ...(model !== undefined ? { model } : {}), relabel: relabel ? 'yes' : 'no' };
}

export function parseSeclabels(dom: XmlElement, defaultModel: string | undefined): void {
  const labels = childrenNamed(dom, 'seclabel');
  const models: (string | undefined)[] = [];
  for (const label of labels) {
    parseSeclabel(label);
    const model = label.attrs['model'];
    if (models.includes(model)) throw virError(ErrorCode.XML_DETAIL, `seclabel for model ${model} is already provided`);
    models.push(model);
  }
  const only = labels.length === 1 ? labels[0]! : undefined;
  if (only && only.attrs['model'] === undefined && defaultModel !== undefined) {
    const type = only.attrs['type'];
    if (type === 'none' || (type === 'dynamic' && child(only, 'baselabel') === undefined)) {
      only.attrs = { type: defaultModel === 'none' ? 'none' : type!, model: defaultModel, relabel: defaultModel === 'none' ? 'no' : only.attrs['relabel']! };
    } else {
      throw virError(ErrorCode.XML_ERROR, 'missing security model in domain seclabel');
    }
  }
  if (labels.length > 1 && models.includes(undefined)) throw virError(ErrorCode.XML_ERROR, 'missing security model when using multiple labels');
  // virSecurityLabelDefFormat: a 'none' label has no relabel attribute.
  for (const label of labels) if (label.attrs['type'] === 'none') delete label.attrs['relabel'];
}
