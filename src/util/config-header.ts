// The comment libvirt puts at the top of every config file it writes
// (virXMLSaveFile): it names the virsh command that edits the object.

export function configFileHeader(editCommand: string): string {
  return (
    '<!--\n' +
    'WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE\n' +
    'OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:\n' +
    `  ${editCommand}\n` +
    'or other application using the libvirt API.\n' +
    '-->\n\n'
  );
}
