'use strict';
// Reads the pcap files captures write: little-endian, microsecond
// timestamps (magic 0xa1b2c3d4), whole packets.
const assert = require('node:assert/strict');
const fs = require('node:fs');

const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/**
 * The header fields and every record of a pcap file, checking its framing.
 * @returns {{ linktype: number, snapshotLength: number, records: { time: number, bytes: Buffer }[] }}
 *   time in microseconds since the epoch
 */
function readPcap(file) {
  const data = fs.readFileSync(file);
  assert.ok(data.length >= FILE_HEADER, `${file}: no pcap header`);
  assert.equal(data.readUInt32LE(0), 0xa1b2c3d4, 'little-endian, microsecond timestamps');
  assert.deepEqual([data.readUInt16LE(4), data.readUInt16LE(6)], [2, 4], 'pcap 2.4');
  const records = [];
  let at = FILE_HEADER;
  while (at < data.length) {
    assert.ok(at + RECORD_HEADER <= data.length, `${file}: a record header cut short at ${at}`);
    const seconds = data.readUInt32LE(at);
    const microseconds = data.readUInt32LE(at + 4);
    const captured = data.readUInt32LE(at + 8);
    assert.ok(microseconds < 1e6, 'microseconds below a second');
    assert.equal(data.readUInt32LE(at + 12), captured, 'whole packets: captured length = length on the wire');
    const end = at + RECORD_HEADER + captured;
    assert.ok(end <= data.length, `${file}: a record cut short at ${at}`);
    records.push({ time: seconds * 1e6 + microseconds, bytes: data.subarray(at + RECORD_HEADER, end) });
    at = end;
  }
  return { linktype: data.readUInt32LE(20), snapshotLength: data.readUInt32LE(16), records };
}

module.exports = { readPcap };
