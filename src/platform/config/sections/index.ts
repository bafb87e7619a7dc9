/**
 * Every section of the configuration tree, in reading order. `core` comes first: the others may
 * rely on its environment and data directory. Adding a section: one file here that
 * `defineSection`s its variables and reads them, and one line in this list — `Config` gains its
 * fields, `loadConfig` validates it with the rest, `npm run gen` writes its variables into
 * `.env.example`.
 */
import { browser } from './browser';
import { core } from './core';
import { gateway } from './gateway';
import { gitops } from './gitops';
import { langflow } from './langflow';
import { llm } from './llm';
import { notifications } from './notifications';
import { oidc } from './oidc';
import { rag } from './rag';
import { redis } from './redis';
import { saleor } from './saleor';
import { scheduler } from './scheduler';
import { serviceClients } from './service-clients';
import { storage } from './storage';
import { tracing } from './tracing';
import { vault } from './vault';

export const SECTIONS = [core, oidc, redis, gitops, storage, rag, vault, langflow, llm, gateway, browser, serviceClients, saleor, scheduler, notifications, tracing] as const;
