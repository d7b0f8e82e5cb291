// Preloaded (node --require) into a tool that would fetch from the internet
// as it runs (electronegativity fetches translations and Electron's release
// list): every request fails at once, before a socket opens. Tests send no
// traffic to any address but loopback.
const Module = require('node:module');
const http = require('node:http');
const https = require('node:https');

function refuse() {
  throw new Error('network access is disabled in the tests');
}
for (const mod of [http, https]) {
  mod.request = refuse;
  mod.get = refuse;
}
const gotStub = Object.assign(() => Promise.reject(new Error('network access is disabled in the tests')), {
  head: () => Promise.reject(new Error('network access is disabled in the tests')),
  get: () => Promise.reject(new Error('network access is disabled in the tests')),
});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'got') return { __esModule: true, default: gotStub };
  return load.call(this, request, parent, isMain);
};
