// The floor for an idle agent's footprint: a bare Node.js process with one MQTT.js connection
// (TCP_NODELAY, QoS 1) that subscribes to one topic and publishes a 500-byte status every 2 s,
// what an agent must do at the least.   node dist/bench/lib/mqtt-idle.js mqtt://HOST:PORT
import net from 'node:net';
import { MqttClient } from 'mqtt';

const u = new URL(process.argv[2]);
const c = new MqttClient(() => net.createConnection({ host: u.hostname, port: Number(u.port), noDelay: true }) as never, { clientId: `bench-idle-${process.pid}`, protocolVersion: 4, clean: true, keepalive: 10 });
c.on('connect', () => {
  c.subscribe(`bench/idle/${process.pid}/desired`, { qos: 1 });
  process.stderr.write('ready\n');
});
c.on('message', () => undefined);
setInterval(() => c.publish(`bench/idle/${process.pid}/status`, JSON.stringify({ at: new Date().toISOString(), pad: 'x'.repeat(450) }), { qos: 1, retain: true }), 2000);
process.on('SIGTERM', () => { c.end(true); process.exit(0); });
