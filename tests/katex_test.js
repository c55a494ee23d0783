// katex_test.js - renders LaTeX strings with KaTeX (display mode, errors thrown) and reports each failure.
//
// usage: node tests/katex_test.js [FILE...]      (no FILE: standard input)
//
// Input: a JSON array (of strings, or of {"src": where, "tex": latex} objects), or
// plain text with one LaTeX string a line. Prints every string KaTeX rejects
// (and every string with a non-ASCII character, which pdflatex would reject),
// with where it came from and the message, then `N passed, N failed`.
// Exit status: 0 all rendered, 1 a failure (or no string at all), 77 (meson's
// "skipped") when KaTeX is not installed in tests/node_modules.
'use strict';

const fs = require('fs');
const path = require('path');

let katex;
try {
	katex = require(path.join(__dirname, 'node_modules', 'katex'));
} catch (e) {
	console.log('katex is not installed: run `sh tests/install-deps.sh --test` (npm install katex in tests/)');
	process.exit(77);
}

function items(text, file) {
	const t = text.trim();
	if (t.startsWith('[')) {
		return JSON.parse(t).map((x, i) =>
			typeof x === 'string' ? {src: `${file}[${i}]`, tex: x} : x);
	}
	return text.split('\n')
		.map((line, i) => ({src: `${file}:${i + 1}`, tex: line}))
		.filter((x) => x.tex.trim() !== '');
}

const files = process.argv.slice(2);
let all = [];
if (files.length === 0)
	all = items(fs.readFileSync(0, 'utf8'), '<stdin>');
for (const f of files)
	all = all.concat(items(fs.readFileSync(f, 'utf8'), f));

let passed = 0, failed = 0;
for (const {src, tex} of all) {
	try {
		// KaTeX takes Unicode letters, but pdflatex does not: the LaTeX a
		// researcher pastes into a paper must be ASCII
		const u = tex.search(/[^\x00-\x7f]/);
		if (u >= 0)
			throw Object.assign(new Error(`non-ASCII character '${tex.slice(u, u + 1)}' ` +
				`at position ${u}: pdflatex rejects it`), {position: u});
		katex.renderToString(tex, {throwOnError: true, displayMode: true});
		passed++;
	} catch (e) {
		failed++;
		console.log(`FAIL ${src}: ${e.message}`);
		// a long string is shown around the error position only
		let shown = tex;
		if (tex.length > 600) {
			const at = typeof e.position === 'number' ? e.position : 0;
			const from = Math.max(0, at - 300);
			shown = (from > 0 ? '...' : '') + tex.slice(from, at + 300) +
				(at + 300 < tex.length ? '...' : '');
		}
		console.log(`  ${shown.split('\n').join('\n  ')}`);
	}
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || passed === 0 ? 1 : 0);
