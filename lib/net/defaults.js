'use strict';
// net.setDefaultAutoSelectFamily() and ...AttemptTimeout(): one setting for
// the process, as Node's net module has, shared by every stack's `net` and
// the polyfill's. They start as Node's own command line set them.
const { autoSelectFamilyDefaults } = require('../platform/node.js');

const initial = autoSelectFamilyDefaults();

const defaults = {
  autoSelectFamily: initial.autoSelectFamily,
  attemptTimeout: initial.attemptTimeout,
};

module.exports = { defaults };
