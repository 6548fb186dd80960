'use strict';
// ESLint for every JS file of the project: `npm run lint`.
//
// Each area sees the globals of the runtimes it runs on. lib/ and polyfill/
// are bundled for browsers too, so they see only what Node and browsers
// share (Node's built-ins come from lib/platform/); the pages the browser
// tests and the browser benchmark bundle see a browser's; everything else
// (tests, benchmarks, tools) is Node.
const js = require('@eslint/js');
const globals = require('globals');

// The code base's style, written down so that it stays as it is (nothing
// here needed changing more than a handful of lines). The layout rules
// (indent, semi, quotes, ...) are core rules that ESLint keeps until v11;
// @stylistic/eslint-plugin carries them on under the same names.
const style = {
  strict: ['error', 'global'],
  'no-var': 'error',
  'prefer-const': ['error', { destructuring: 'all' }],
  eqeqeq: ['error', 'smart'],
  'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'all', ignoreRestSiblings: true }],
  'no-throw-literal': 'error',
  'prefer-promise-reject-errors': 'error',
  'no-implied-eval': 'error',
  'no-new-func': 'error',
  'no-extend-native': 'error',
  'no-self-compare': 'error',
  'no-template-curly-in-string': 'error',
  'array-callback-return': 'error',
  'object-shorthand': ['error', 'properties'],
  'prefer-arrow-callback': ['error', { allowNamedFunctions: true }],
  'prefer-rest-params': 'error',
  'prefer-spread': 'error',
  'dot-notation': 'error',
  'one-var': ['error', 'never'],

  indent: ['error', 2, { SwitchCase: 1 }],
  semi: ['error', 'always'],
  quotes: ['error', 'single', { avoidEscape: true }],
  'comma-dangle': ['error', 'always-multiline'],
  'arrow-parens': ['error', 'always'],
  'brace-style': ['error', '1tbs', { allowSingleLine: true }],
  'space-before-function-paren': ['error', { anonymous: 'always', named: 'never', asyncArrow: 'always' }],
  'keyword-spacing': 'error',
  'space-before-blocks': 'error',
  'space-infix-ops': 'error',
  'comma-spacing': 'error',
  'key-spacing': 'error',
  'object-curly-spacing': ['error', 'always'],
  'array-bracket-spacing': ['error', 'never'],
  'quote-props': ['error', 'as-needed'],
  'no-multi-spaces': 'error',
  'no-multiple-empty-lines': ['error', { max: 1 }],
  'no-trailing-spaces': 'error',
  'eol-last': ['error', 'always'],
};

// Modules that a bundler puts in a page as they are.
const BUNDLED = [
  'lib/**/*.js', 'lib/**/*.mjs', 'polyfill/**/*.js',
  'bench/bulk.js', 'bench/fixtures/workload.js', 'bench/fixtures/gateway-workload.js',
];
// The pages themselves: they run only in a browser.
const PAGES = ['test/fixtures/browser/**/*.js', 'test/fixtures/browser/**/*.mjs', 'bench/fixtures/page.js', 'bench/fixtures/gateway-page.js'];

module.exports = [
  {
    ignores: ['deps/lwip/', 'deps/.cache/', 'dist/', 'build/', 'build-asan/', 'build-fuzz/', 'node_modules/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    // package.json says Node >= 18: ES2022 is what every supported runtime parses.
    languageOptions: { ecmaVersion: 2022, sourceType: 'commonjs' },
    rules: style,
  },
  {
    files: ['**/*.mjs', 'test/fixtures/browser/buffer-global.js'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: [...BUNDLED, ...PAGES],
    languageOptions: { globals: globals.node },
  },
  {
    files: BUNDLED,
    languageOptions: { globals: globals['shared-node-browser'] },
  },
  {
    // The Node halves of lib/: package.json's "browser" field swaps them out of bundles.
    files: ['lib/platform/node.js', 'lib/backend/native.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // Reads process.env only where `process` exists, and warns through
    // process.emitWarning only when the native backend was expected (Node).
    files: ['lib/backend/index.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
  {
    files: PAGES,
    languageOptions: { globals: globals.browser },
  },
  {
    // Stand-ins for Node libraries, which use the global Buffer: the bundlers
    // give pages one (webpack's ProvidePlugin, esbuild's inject).
    files: ['test/fixtures/browser/libs/*.js'],
    languageOptions: { globals: { Buffer: 'readonly' } },
  },
  {
    // Their page.evaluate() and waitForFunction() callbacks run in the page.
    files: ['test/helpers/browser.js', 'bench/browser.js', 'bench/gateway.js'],
    languageOptions: { globals: { window: 'readonly' } },
  },
  {
    files: ['test/**/*.test.js', 'test/helpers/*.js', 'examples/pg-partition.test.js'],
    languageOptions: { globals: globals.mocha },
    // Mocha's describe/it callbacks are functions, so `this.timeout()` works in any of them.
    rules: { 'prefer-arrow-callback': 'off' },
  },
];
