/**
 * The embedded secret store (`npm start` without VAULT_ADDR): AES-256-GCM, one file per path under
 * `<DATA_DIR>/secrets/kv/`, the 32-byte key in `<DATA_DIR>/secrets/master.key` (mode 0600, made
 * on first use). Files, not a table: the key and the ciphertexts stay outside the database, so a
 * database dump never carries a credential, and the layout mirrors Vault's path tree. The path is
 * the AES-GCM additional data, so a file copied to another path fails to decrypt. Versions and
 * soft delete behave like KV v2: `put` bumps the version, `delete` drops the value and keeps the
 * version number.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkPath, SecretMissingError, type SecretData, type SecretStore } from './secret-store';

interface SecretFile {
  version: number;
  deleted: boolean;
  iv?: string;
  tag?: string;
  ciphertext?: string;
}

export class LocalEncryptedSecretStore implements SecretStore {
  readonly kind = 'local' as const;
  private key?: Promise<Buffer>;
  private readonly root: string;

  constructor(dir: string) {
    this.root = dir;
  }

  private masterKey(): Promise<Buffer> {
    this.key ??= (async () => {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      const file = path.join(this.root, 'master.key');
      try {
        const k = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
        if (k.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
        return k;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        const k = randomBytes(32);
        // 'wx': two processes racing both try; the loser reads the winner's key.
        try {
          await writeFile(file, k.toString('base64'), { mode: 0o600, flag: 'wx' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
          throw e;
        }
        await chmod(file, 0o600);
        return k;
      }
    })();
    return this.key;
  }

  private fileOf(p: string): string {
    return path.join(this.root, 'kv', ...checkPath(p).split('/')) + '.json';
  }

  private async read(p: string): Promise<SecretFile | undefined> {
    try {
      return JSON.parse(await readFile(this.fileOf(p), 'utf8')) as SecretFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async write(p: string, f: SecretFile): Promise<void> {
    const file = this.fileOf(p);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(f), { mode: 0o600 });
    await rename(tmp, file);
  }

  async put(p: string, data: SecretData): Promise<number> {
    const key = await this.masterKey();
    const prev = await this.read(p);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(p));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
    const version = (prev?.version ?? 0) + 1;
    await this.write(p, { version, deleted: false, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') });
    return version;
  }

  async get(p: string): Promise<{ data: SecretData; version: number }> {
    const f = await this.read(p);
    if (!f || f.deleted || !f.ciphertext || !f.iv || !f.tag) throw new SecretMissingError(p);
    const decipher = createDecipheriv('aes-256-gcm', await this.masterKey(), Buffer.from(f.iv, 'base64'));
    decipher.setAAD(Buffer.from(p));
    decipher.setAuthTag(Buffer.from(f.tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(f.ciphertext, 'base64')), decipher.final()]);
    return { data: JSON.parse(plain.toString('utf8')) as SecretData, version: f.version };
  }

  async delete(p: string): Promise<void> {
    const f = await this.read(p);
    if (!f || f.deleted) return;
    await this.write(p, { version: f.version, deleted: true });
  }
}
