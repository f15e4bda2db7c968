// Builds the widget from src/ into dist/: the loader (embed.js) and the panel it loads on intent
// (panel.<hash>.js), minified by esbuild, each precompressed as .gz and .br for the server to send.
// `node build.mjs --check` builds in memory and fails when dist/ differs (stale) or a budget is exceeded.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, 'dist');
const MANIFEST = join(HERE, 'build-manifest.json');
// Gzipped bytes, size-limit style: the loader alone on every page view, everything on intent.
// GOALS are issue 14's; BUDGETS are what the build may not grow past (today's size plus a
// little room), so the distance to the goals can only shrink. bench/widget_size.py shows both.
// Issue 28 raised total_gzip once, by 280 B, for what the visitor must see (a title per final
// screen, the owner's number to call, the closed screen, the plan's countdown, no 428 on a quick
// submit) cost about 310 B of panel, 40 B of it won back by mangling more internal names.
export const GOALS = { loader_gzip: 2048, total_gzip: 8192 };
export const BUDGETS = { loader_gzip: 3080, total_gzip: 11960 };

const version = readFileSync(join(HERE, '../widget_server/version.py'), 'utf8').match(/__version__ = "([^"]+)"/)[1];

// Stylesheets are written as .css and imported as one minified string.
const cssAsText = {
  name: 'css-as-text',
  setup(builder) {
    builder.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await transform(readFileSync(args.path, 'utf8'), { loader: 'css', minify: true, target: 'chrome80' });
      return { contents: code.trim(), loader: 'text' };
    });
  },
};

// The panel runs only after the loader, which hands it these modules (src/shared.js): one copy.
const FROM_LOADER = /(^|\/)(dom|store|beacon)\.js$/;
const fromLoader = {
  name: 'from-loader',
  setup(builder) {
    builder.onResolve({ filter: FROM_LOADER }, () => ({ path: join(HERE, 'src', 'shared.js') }));
  },
};

// Property names that only our own code reads and writes: never the API's JSON (look, texts,
// statuses), never a browser API's (so no `warn`: console.warn), never the public CallbackWidget.
// esbuild shortens them; loader and panel share one mangle cache, so a name handed between them
// stays the same on both sides. A new internal name may join the list; check every receiver.
const INTERNAL_PROPS = new RegExp(
  '^(' +
    ['callbackWidgetPanel', 'shared', 'createPanel', 'frame', 'opener', 'focusFirst', 'focusTarget', 'hasSlots',
      'consentGiven', 'botTrap', 'setError', 'onAccepted', 'onStatus', 'onLost', 'intervalMs', 'latest', 'streamed',
      'follower', 'failures', 'inflight', 'indicator', 'reported', 'sessionAt', 'startedAt', 'stopped', 'cancelling',
      'say', 'goal', 'restore', 'refresh', 'quiet', 'picked', 'addStyles', 'element', 'icon', 'listen', 'safe', 'beacon', 'st',
      'caption', 'heading', 'rest', 'resting', 'promised', 'current', 'inputs', 'submitButton', 'busy', 'timer', 'clock',
      'alert', 'session', 'state', 'panel', 'stop', 'reset', 'start'].join('|') +
    ')$',
);

async function bundle(entry, define, plugins, mangleCache) {
  const result = await build({
    plugins: [cssAsText, ...plugins],
    entryPoints: [join(HERE, 'src', entry)],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    define,
    mangleProps: INTERNAL_PROPS,
    mangleCache,
    banner: { js: `/*! callback widget ${version} ${entry} */` },
  });
  return { code: Buffer.from(result.outputFiles[0].contents), mangleCache: result.mangleCache };
}

const sha = (algorithm, data, encoding) => createHash(algorithm).update(data).digest(encoding);

// What the build reads: the sources, this script and the pinned esbuild.
function sourcesHash() {
  const hash = createHash('sha256');
  const inputs = readdirSync(join(HERE, 'src'), { recursive: true }) // src/features/ too
    .filter((name) => /\.(js|css)$/.test(name))
    .sort()
    .map((name) => join('src', name));
  for (const name of [...inputs, 'build.mjs', 'package-lock.json']) {
    hash.update(name + '\0').update(readFileSync(join(HERE, name))).update('\0');
  }
  return hash.update(version).digest('hex');
}

function compressed(name, data) {
  return {
    [name]: data,
    [name + '.gz']: gzipSync(data, { level: 9 }),
    [name + '.br']: brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }),
  };
}

async function buildAll() {
  const { code: panel, mangleCache } = await bundle('panel.js', {}, [fromLoader], {});
  const panelName = `panel.${sha('sha256', panel, 'hex').slice(0, 12)}.js`;
  const { code: loader } = await bundle('loader.js', {
    __PANEL_FILE__: JSON.stringify(`${version}/${panelName}`),
    __PANEL_INTEGRITY__: JSON.stringify('sha384-' + sha('sha384', panel, 'base64')),
  }, [], mangleCache);
  const files = { ...compressed('embed.js', loader), ...compressed(panelName, panel) };
  const size = (name) => ({ raw: files[name].length, gzip: files[name + '.gz'].length, brotli: files[name + '.br'].length });
  const manifest = {
    version,
    sources_sha256: sourcesHash(),
    loader: 'embed.js',
    panel: panelName,
    sizes: { 'embed.js': size('embed.js'), [panelName]: size(panelName) },
    budgets: BUDGETS,
    goals: GOALS,
  };
  return { files, manifest };
}

function overBudget(manifest) {
  const loader = manifest.sizes['embed.js'].gzip;
  const total = loader + manifest.sizes[manifest.panel].gzip;
  const problems = [];
  if (loader > BUDGETS.loader_gzip) problems.push(`loader ${loader} B gzipped > ${BUDGETS.loader_gzip} B`);
  if (total > BUDGETS.total_gzip) problems.push(`loader + panel ${total} B gzipped > ${BUDGETS.total_gzip} B`);
  return problems;
}

function stale(files, manifest) {
  const problems = [];
  const present = existsSync(DIST) ? readdirSync(DIST).sort() : [];
  const wanted = Object.keys(files).sort();
  if (present.join() !== wanted.join()) problems.push(`dist/ holds ${present.join(', ')}; the build makes ${wanted.join(', ')}`);
  for (const name of wanted) {
    if (present.includes(name) && !readFileSync(join(DIST, name)).equals(files[name])) problems.push(`dist/${name} differs`);
  }
  const written = existsSync(MANIFEST) ? readFileSync(MANIFEST, 'utf8') : '';
  if (written !== JSON.stringify(manifest, null, 2) + '\n') problems.push('build-manifest.json differs');
  return problems;
}

const { files, manifest } = await buildAll();
const budget = overBudget(manifest);
if (process.argv.includes('--check')) {
  const problems = [...stale(files, manifest), ...budget];
  if (problems.length) {
    console.error('embed/dist is not what `npm run build` makes:\n  ' + problems.join('\n  '));
    process.exit(1);
  }
  console.log('embed/dist is up to date and within budget');
} else {
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(DIST, name), data);
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  for (const [name, s] of Object.entries(manifest.sizes)) console.log(`${name}: ${s.raw} B, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  if (budget.length) console.error('over budget: ' + budget.join('; '));
}
