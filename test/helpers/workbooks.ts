/**
 * An encrypted Office document as Office writes one: an OLE compound file whose directory (here placed past
 * the first 64 KB, as in a large file) names the streams EncryptionInfo and EncryptedPackage.
 */
export function passwordProtected(): Buffer {
  const sectorSize = 512;
  const directorySector = 200;
  const bytes = Buffer.alloc((directorySector + 2) * sectorSize);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(bytes, 0);
  bytes.writeUInt16LE(0x003e, 0x18); // minor version
  bytes.writeUInt16LE(0x0003, 0x1a); // major version 3: 512-byte sectors
  bytes.writeUInt16LE(0xfffe, 0x1c); // little-endian
  bytes.writeUInt16LE(9, 0x1e); // sector shift
  bytes.writeUInt32LE(directorySector, 0x30);
  const directory = (directorySector + 1) * sectorSize;
  ['Root Entry', 'EncryptionInfo', 'EncryptedPackage'].forEach((name, index) => {
    const entry = directory + index * 128;
    Buffer.from(`${name}\0`, 'utf16le').copy(bytes, entry);
    bytes.writeUInt16LE((name.length + 1) * 2, entry + 64);
    bytes[entry + 66] = index === 0 ? 5 : 2;
  });
  return bytes;
}
