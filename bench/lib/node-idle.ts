// The absolute floor of any Node.js part: a process that loads nothing and waits.
//   node dist/bench/lib/node-idle.js
process.stderr.write('ready\n');
setInterval(() => undefined, 1 << 30);
process.on('SIGTERM', () => process.exit(0));
