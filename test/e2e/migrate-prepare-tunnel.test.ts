// The destination's tunnelled-migration entry points of libvirt's older
// protocols, called through the library on a spawned tsvirtd as a source
// libvirt calls them: PrepareTunnel3 (version 3 without parameters, with
// cookies) and PrepareTunnel (version 2, without). The migration stream they
// take is a save image's (virsh save on the other daemon), the same bytes a
// source QEMU migrates; Finish3Params then runs the guest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Duplex } from 'node:stream';
import { connect, type Connection } from '../../src/api/connection.js';
import { typedParam } from '../../src/driver/typed-params.js';
import { readSaveImage, type SaveImage } from '../../src/drivers/qemu/save-image.js';
import { agentAnswers, DST_HOST_UUID, migrationSkip, SRC_HOST_UUID, startGuestOnSource, twoHosts, virsh, virshOk } from './migration-hosts.js';

const missing = migrationSkip('PrepareTunnel test');

const LIVE = 1 << 0;
const PEER2PEER = 1 << 1;
const TUNNELLED = 1 << 2;

/** The source's migration cookie (migration-cookie.ts's layout, NUL-terminated) for the guest in `image`. */
function sourceCookie(image: SaveImage): Buffer {
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(image.xml)![1];
  return Buffer.from(`<qemu-migration><name>tun</name><uuid>${uuid}</uuid><hostname>source</hostname><hostuuid>${SRC_HOST_UUID}</hostuuid></qemu-migration>\0`);
}

/** Sends the image's migration stream through a PrepareTunnel stream; resolves once the daemon answered its finish. */
async function sendImage(file: string, image: SaveImage, stream: Duplex): Promise<void> {
  const answered = new Promise<void>((resolve, reject) => stream.once('end', resolve).once('error', reject));
  stream.resume();
  await pipeline(createReadStream(file, { start: image.streamOffset }), stream);
  await answered;
}

/** Finish3Params on the destination: the guest runs there. */
async function finish(conn: Connection, cookie: Buffer, flags: number): Promise<void> {
  await conn.invoke('domainMigrateFinish3Params', { params: [typedParam.string('destination_name', 'tun')], cookie_in: cookie, flags, cancelled: 0 });
}

test('PrepareTunnel3 and PrepareTunnel on tsvirtd: the guest runs from the tunnelled stream', { skip: missing, timeout: 120_000 }, async (t) => {
  const hosts = await twoHosts(t);
  const { S, D } = hosts;
  await startGuestOnSource(hosts, 'tun');
  const file = join(hosts.src.root, 'tun.save');
  await virshOk('-c', S, 'save', 'tun', file);
  const image = await readSaveImage(file);
  assert.equal(image.header.compressed, 0);
  const conn = await connect(D);
  t.after(() => conn.close());

  const noFlag = await conn.invokeStream('domainMigratePrepareTunnel3', { cookie_in: sourceCookie(image), flags: BigInt(LIVE | PEER2PEER), dname: null, resource: 0n, dom_xml: image.xml }).catch((e: Error) => e);
  assert.equal((noFlag as Error).message, 'internal error: PrepareTunnel called but no TUNNELLED flag set');

  const flags = LIVE | PEER2PEER | TUNNELLED;
  const v3 = await conn.invokeStream('domainMigratePrepareTunnel3', { cookie_in: sourceCookie(image), flags: BigInt(flags), dname: null, resource: 0n, dom_xml: image.xml });
  assert.match(v3.ret.cookie_out.toString(), new RegExp(`<hostuuid>${DST_HOST_UUID}</hostuuid>`));
  await sendImage(file, image, v3.stream);
  await finish(conn, v3.ret.cookie_out, flags);
  assert.equal(await virshOk('-c', D, 'domstate', 'tun', '--reason'), 'running (migrated)\n\n');
  await agentAnswers(D, 'tun');
  await virshOk('-c', D, 'destroy', 'tun');

  const v2 = await conn.invokeStream('domainMigratePrepareTunnel', { flags: BigInt(flags), dname: null, resource: 0n, dom_xml: image.xml });
  await sendImage(file, image, v2.stream);
  await finish(conn, Buffer.alloc(0), flags);
  assert.equal(await virshOk('-c', D, 'domstate', 'tun', '--reason'), 'running (migrated)\n\n');
  await agentAnswers(D, 'tun');
  assert.equal((await virsh('-c', S, 'list', '--name')).stdout, '\n');
});
