// Saving a domain's state to a file and back (save, restore, managedsave's
// image XML, save-image-*): virsh's commands over virDomainSave*, Restore* and
// ManagedSave*XML.
import { attempt } from '../errors.js';
import { readInputFile } from '../files.js';
import { watchJob } from '../job-watch.js';
import type { Handler, Invocation } from '../shell.js';
import { dumpXml } from './domain.js';

/** virDomainSaveRestoreFlags as virsh sets them from its options. */
function saveFlags(cmd: Invocation): number {
  let flags = 0;
  if (cmd.bool('bypass-cache')) flags |= 1;
  if (cmd.bool('running')) flags |= 2;
  if (cmd.bool('paused')) flags |= 4;
  if (cmd.bool('reset-nvram')) flags |= 8;
  return flags;
}

const save: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const to = cmd.required('file');
  const xmlFile = cmd.string('xml');
  const dxml = xmlFile === undefined ? null : readInputFile(xmlFile);
  const flags = saveFlags(cmd);
  const call = flags || dxml !== null
    ? dom.connection.invoke('domainSaveFlags', { dom: dom.ref, to, dxml, flags })
    : dom.connection.invoke('domainSave', { dom: dom.ref, to });
  await attempt(`Failed to save domain '${name}' to ${to}`, watchJob(ctl, dom, call, { label: 'Save', verbose: cmd.bool('verbose') }));
  ctl.printExtra(`\nDomain '${name}' saved to ${to}\n`);
};

const restore: Handler = async (ctl, cmd) => {
  const from = cmd.required('file');
  const xmlFile = cmd.string('xml');
  const dxml = xmlFile === undefined ? null : readInputFile(xmlFile);
  const flags = saveFlags(cmd);
  const call = flags || dxml !== null
    ? ctl.c.invoke('domainRestoreFlags', { from, dxml, flags })
    : ctl.c.invoke('domainRestore', { from });
  await attempt(`Failed to restore domain from ${from}`, call);
  ctl.printExtra(`Domain restored from ${from}\n`);
};

const saveImageDumpxml: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const { xml } = await ctl.c.invoke('domainSaveImageGetXMLDesc', { file, flags: cmd.bool('security-info') ? 1 : 0 });
  dumpXml(ctl, xml, cmd.string('xpath'), cmd.bool('wrap'));
};

const saveImageDefine: Handler = async (ctl, cmd) => {
  const file = cmd.required('file');
  const dxml = readInputFile(cmd.required('xml'));
  await attempt(`Failed to update ${file}`, ctl.c.invoke('domainSaveImageDefineXML', { file, dxml, flags: saveFlags(cmd) }));
  ctl.printExtra(`State file ${file} updated.\n`);
};

const managedsaveDumpxml: Handler = async (ctl, cmd) => {
  const { dom } = await ctl.domain(cmd);
  const { xml } = await dom.connection.invoke('domainManagedSaveGetXMLDesc', { dom: dom.ref, flags: cmd.bool('security-info') ? 1 : 0 });
  dumpXml(ctl, xml, cmd.string('xpath'), cmd.bool('wrap'));
};

const managedsaveDefine: Handler = async (ctl, cmd) => {
  const { dom, name } = await ctl.domain(cmd);
  const dxml = readInputFile(cmd.required('xml'));
  await attempt(`Failed to update ${name} XML configuration`, dom.connection.invoke('domainManagedSaveDefineXML', { dom: dom.ref, dxml, flags: saveFlags(cmd) }));
  ctl.printExtra(`Managed save state file of domain '${name}' updated.\n`);
};

export const handlers: Record<string, Handler> = {
  save,
  restore,
  'save-image-dumpxml': saveImageDumpxml,
  'save-image-define': saveImageDefine,
  'managedsave-dumpxml': managedsaveDumpxml,
  'managedsave-define': managedsaveDefine,
};
