/** Files and an offering for run-attachment tests: real PNG/GIF/PDF/WAV bytes, and a published offering with vision and audio. */
import { PDFDocument } from 'pdf-lib';
import { DEMO_OFFERINGS, seedDemo, type DemoOffering } from '../../src/catalog/demo-seed';
import { createObjectStore } from '../../src/storage';
import { silentWav } from './fake-openai';
import { http, type TestStack } from './stack';

export { silentWav };

/** A 1×1 PNG (signature, IHDR, IDAT, IEND). */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
/** A 1×1 GIF: a type the vision capability does not accept. */
export const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export async function pdfWithPages(pages: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  for (let i = 0; i < pages; i++) doc.addPage([200, 200]).drawText(`Page ${i + 1}`, { x: 20, y: 100, size: 18 });
  return Buffer.from(await doc.save());
}

export const MEDIA_SLUG = 'media-assistant';

/** The support assistant's flow and plans, sold with vision and audio (limits small enough to test). */
export async function seedMediaOffering(stack: TestStack): Promise<void> {
  const base = DEMO_OFFERINGS.find((d) => d.listing.slug === 'support-assistant')!;
  const offering: DemoOffering = {
    ...base,
    listing: { ...base.listing, slug: MEDIA_SLUG, name: 'Media Assistant', modalities: ['text', 'image', 'audio'], saleorProductId: Buffer.from('Product:990').toString('base64') },
    capabilities: [
      ...base.capabilities,
      { id: 'multimodal_vision', v: 1, defaults: { acceptedMimeTypes: ['image/png', 'image/jpeg', 'application/pdf'], maxImagesPerRun: 3, maxImageBytes: 65536, maxPdfPages: 2, detail: 'low' } },
      { id: 'multimodal_audio', v: 1, defaults: { speechToText: true, textToSpeech: false, acceptedMimeTypes: ['audio/wav', 'audio/mpeg'], maxAudioSeconds: 5, outputFormat: 'wav', voice: 'alloy' } },
    ],
    plans: base.plans.map((p, i) => ({ ...p, priceRef: { saleorVariantId: Buffer.from(`ProductVariant:99${i}`).toString('base64'), sku: `${MEDIA_SLUG}-${p.id}` } })),
  };
  await seedDemo(stack.db!, createObjectStore(stack.config.storage, stack.url('control-plane')), { info: () => undefined }, { offerings: [offering] });
}

/** Asks for an upload ticket and PUTs the bytes to it; the upload's id. */
export async function upload(stack: TestStack, token: string, instanceId: string, type: 'image' | 'audio' | 'file', contentType: string, bytes: Buffer): Promise<string> {
  const ticket = await http('POST', `${stack.url('gateway')}/v1/uploads`, { token, body: { instanceId, type, contentType, sizeBytes: bytes.length } });
  if (ticket.status !== 201) throw new Error(`upload ticket: ${ticket.status} ${JSON.stringify(ticket.body)}`);
  const put = await fetch(ticket.body.url, { method: 'PUT', headers: ticket.body.headers, body: new Uint8Array(bytes) });
  if (put.status >= 300) throw new Error(`upload PUT: ${put.status} ${await put.text()}`);
  return ticket.body.uploadId;
}
