'use strict';
const { Stack } = require('./stack.js');

module.exports = { Stack };
