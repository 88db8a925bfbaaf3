// <audio> backends: schema (virDomainAudioDefFormat) and the QEMU driver's
// default backend (qemuDomainDefAddDefaultAudioBackend with the default qemu.conf).

import { element } from '../../util/xml.js';
import type { ElementSchema } from '../schema.js';
import { appendDevice, devicesNamed, type DeviceContext } from './common.js';

const directionSchema: ElementSchema = {
  attrs: ['mixingEngine', 'fixedSettings', 'voices', 'bufferLength', 'dev', 'bufferCount', 'tryPoll', 'name', 'streamName', 'latency', 'serverName', 'clientName', 'connectPorts', 'exactName'],
  children: { settings: { attrs: ['frequency', 'channels', 'format'] } },
};

export const audioSchema: ElementSchema = {
  attrs: ['id', 'type', 'timerPeriod', 'tryMMap', 'exclusive', 'dspPolicy', 'serverName', 'driver', 'path'],
  children: { input: directionSchema, output: directionSchema },
};

/**
 * With no <audio> given, QEMU guests get one backend: spice audio for a
 * spice display, none for vnc or no display; sdl displays pass host audio
 * through (nothing added, as QEMU_AUDIO_DRV is unset for the daemon).
 */
export function addDefaultAudio(ctx: DeviceContext): void {
  if (devicesNamed(ctx, 'audio').length > 0) return;
  let add = false;
  let passthrough = false;
  let type = 'none';
  for (const g of devicesNamed(ctx, 'graphics')) {
    switch (g.attrs['type']) {
      case 'vnc':
        passthrough = false;
        type = 'none';
        add = true;
        break;
      case 'spice':
        passthrough = false;
        type = 'spice';
        add = true;
        break;
      case 'sdl':
        passthrough = true;
        add = true;
        break;
    }
  }
  if (devicesNamed(ctx, 'graphics').length === 0) {
    passthrough = false;
    type = 'none';
    add = true;
  }
  if (!add || passthrough) return;
  appendDevice(ctx, element('audio', { id: '1', type }));
}
