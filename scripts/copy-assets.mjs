// Copies the files the compiled server reads at run time (the AWS service models) into dist/.
import { cpSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
cpSync(resolve(root, 'src/models'), resolve(root, 'dist/models'), { recursive: true });
// The runtimes' bootstrap programs, which function instances run.
cpSync(resolve(root, 'src/functions/runtimes'), resolve(root, 'dist/functions/runtimes'), { recursive: true });
