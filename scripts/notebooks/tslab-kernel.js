#!/usr/bin/env node
/**
 * The project's tslab kernel: tslab's own entry point, with its ZeroMQ sends serialised per socket.
 *
 * tslab 1.0.22 calls `socket.send(...)` without awaiting it (dist/jupyter.js, ZmqMessage.signAndSend). zeromq 6
 * allows one send in progress per socket and throws EBUSY ("Socket is busy writing") on a second one; a send stays in
 * progress when the message cannot be queued at once, which happens on a loaded machine after a large output (a
 * plotly figure, an HTML table). The throw escapes as an uncaught exception from tslab's status publisher and kills
 * the kernel mid-notebook. Here every send on a socket waits for the previous one, in order, so outputs, status
 * messages and replies keep their order and none is lost. A send that fails is reported on stderr, as tslab would
 * have reported the throw, without killing the kernel.
 */
"use strict";
const path = require("node:path");

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const zmq = require(require.resolve("zeromq", { paths: [tslabDir] }));

/** Per socket, the promise of its last send (sockets are sealed objects: the queue lives outside them). */
const queues = new WeakMap();

for (const name of ["Publisher", "Router", "Dealer", "Reply"]) {
  const cls = zmq[name];
  if (!cls || typeof cls.prototype.send !== "function") continue;
  const send = cls.prototype.send;
  // zeromq defines send read-only on its base class: shadow it on the subclass with defineProperty.
  Object.defineProperty(cls.prototype, "send", {
    configurable: true,
    writable: true,
    value: function serialisedSend(message) {
      const previous = queues.get(this) || Promise.resolve();
      const next = previous
        .then(() => send.call(this, message))
        .catch((err) => {
          process.stderr.write(`tslab kernel: a ${name} send failed: ${err && err.message ? err.message : err}\n`);
        });
      queues.set(this, next);
      return next;
    },
  });
}

require(path.join(tslabDir, "dist", "main.js")).main();
