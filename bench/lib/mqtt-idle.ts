// The floor for an idle agent's footprint: a bare Node.js process with one MQTT.js connection set
// up as canopy's bus sets it up (TCP_NODELAY, QoS 1, MQTT 3.1.1, keepalive = the 2 s heartbeat,
// no message-id buffer cache), under the agent's V8 settings (cli/parts/lean.ts), that subscribes
// to one topic and publishes one 500-byte retained status: what an agent must do at the least,
// since status goes out on change only and liveness is the MQTT session.
//   node dist/bench/lib/mqtt-idle.js mqtt://HOST:PORT
import net from 'node:net';
import { leanV8 } from '../../cli/parts/lean.js';

await leanV8();
const { MqttClient } = await import('mqtt');
const u = new URL(process.argv[2]);
const c = new MqttClient(() => net.createConnection({ host: u.hostname, port: Number(u.port), noDelay: true }) as never, {
  clientId: `bench-idle-${process.pid}`,
  protocolVersion: 4,
  clean: true,
  keepalive: 2,
  writeCache: false,
});
c.on('connect', () => {
  c.subscribe(`bench/idle/${process.pid}/desired`, { qos: 1 });
  c.publish(`bench/idle/${process.pid}/status`, JSON.stringify({ at: new Date().toISOString(), pad: 'x'.repeat(450) }), { qos: 1, retain: true });
  process.stderr.write('ready\n');
});
c.on('message', () => undefined);
process.on('SIGTERM', () => {
  c.end(true);
  process.exit(0);
});
