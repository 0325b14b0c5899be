/** Worker-thread entry for the ingest pool: runs scanDir (source-scan.ts) or ingestBatch (ingest-sync.ts). */
import { parentPort } from 'node:worker_threads';
import { ingestBatch, type IngestBatch } from './ingest-sync.js';
import { scanDir, type ScanTask } from './source-scan.js';
import { asBuffer } from '../util/buffers.js';

parentPort!.on('message', (msg: { id: number; batch?: IngestBatch; scans?: ScanTask[] }) => {
  if (msg.scans) {
    const scans = msg.scans.map((s) => scanDir({ ...s, srcDir: asBuffer(s.srcDir), stageDir: asBuffer(s.stageDir), records: s.records ? asBuffer(s.records) : undefined }));
    parentPort!.postMessage({ id: msg.id, scans });
    return;
  }
  const b = msg.batch!;
  const batch: IngestBatch = {
    ...b,
    srcDir: asBuffer(b.srcDir),
    stageDir: asBuffer(b.stageDir),
    files: b.files.map((f) => ({ ...f, name: asBuffer(f.name) })),
  };
  parentPort!.postMessage({ id: msg.id, ...ingestBatch(batch) });
});
