/** Worker-thread entry for the ingest pool: runs ingestBatch or linkBatch (ingest-sync.ts). */
import { parentPort } from 'node:worker_threads';
import { ingestBatch, linkBatch, type IngestBatch, type LinkBatch } from './ingest-sync.js';

parentPort!.on('message', (msg: { id: number; batch?: IngestBatch; links?: LinkBatch }) => {
  // Buffers arrive as Uint8Arrays through structured clone.
  if (msg.links) {
    const links: LinkBatch = {
      stageDir: Buffer.from(msg.links.stageDir),
      links: msg.links.links.map((l) => ({ name: Buffer.from(l.name), objPath: l.objPath })),
    };
    parentPort!.postMessage({ id: msg.id, codes: linkBatch(links) });
    return;
  }
  const b = msg.batch!;
  const batch: IngestBatch = {
    ...b,
    srcDir: Buffer.from(b.srcDir),
    stageDir: Buffer.from(b.stageDir),
    files: b.files.map((f) => ({ ...f, name: Buffer.from(f.name) })),
  };
  parentPort!.postMessage({ id: msg.id, ...ingestBatch(batch) });
});
