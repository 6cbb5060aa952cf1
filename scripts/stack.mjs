// `npm run stack -- <start|stop|reset|status>`: manage the local stack by hand.
import * as stack from './lib/stack.mjs';

const cmd = process.argv[2] ?? 'status';
try {
  if (cmd === 'start') {
    await stack.up({ tap: true });
    console.log(JSON.stringify(stack.status(), null, 2));
  } else if (cmd === 'stop') {
    await stack.down();
  } else if (cmd === 'reset') {
    await stack.reset();
  } else if (cmd === 'restart-services') {
    await stack.stopServices();
    await stack.startServices();
  } else if (cmd === 'status') {
    console.log(JSON.stringify(stack.status(), null, 2));
  } else {
    console.error(`unknown command "${cmd}": use start, stop, reset, restart-services or status`);
    process.exit(2);
  }
} catch (err) {
  stack.log('error', { command: cmd, message: err.message });
  process.exit(1);
}
