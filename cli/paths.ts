import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed package's root (dist/cli/paths.js → ../..). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const templateDir = path.join(packageRoot, 'fleet-repo-template');
export const schemasDir = path.join(packageRoot, 'schemas');
