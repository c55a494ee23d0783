/* test_badinput.c - broken input of every kind gets an error with line:col (or a result),
 * never a crash or a hang: deep nesting, huge lines, bad bytes, cut-off statements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

/* Each input must finish well within this (sanitizers are slower). */
#if defined(__SANITIZE_ADDRESS__)
#define LIMIT_SECONDS 20.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LIMIT_SECONDS 20.0
#endif
#endif
#ifndef LIMIT_SECONDS
#define LIMIT_SECONDS 5.0
#endif

/* ---- helpers ---- */

struct result {
	bool ok;
	int status;
	char *out, *err; /* owned */
	double seconds;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs len bytes (NULs allowed) in a fresh session, as matcalc -e would. */
static struct result run_bytes(const char *text, size_t len)
{
	struct tsession t;
	ts_open(&t);
	struct result r;
	double t0 = now();
	r.ok = session_run(t.s, "-e", text, len);
	r.seconds = now() - t0;
	ts_flush(&t);
	r.status = t.s->status;
	r.out = mc_xstrdup(t.out ? t.out : "");
	r.err = mc_xstrdup(t.err ? t.err : "");
	/* the session is still usable after any error (the new output follows
	 * the old: rewinding a memory stream would leave a longer old one behind) */
	size_t before = t.outlen;
	ck_assert_msg(ts_run(&t, "let z : vector(n); z^T z"),
		      "session broken after bad input: %.200s", t.err);
	ck_assert_str_eq(t.out + before, "z^T z\n");
	ts_close(&t);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* text repeated n times, then mid, then tail repeated n times (owned). */
static char *nest(const char *head, long n, const char *mid, const char *tail, long ntail,
		  size_t *len)
{
	size_t lh = strlen(head), lm = strlen(mid), lt = strlen(tail);
	size_t total = lh * (size_t)n + lm + lt * (size_t)ntail;
	char *s = mc_xmalloc(total + 1), *w = s;
	for (long i = 0; i < n; i++, w += lh)
		memcpy(w, head, lh);
	memcpy(w, mid, lm);
	w += lm;
	for (long i = 0; i < ntail; i++, w += lt)
		memcpy(w, tail, lt);
	*w = '\0';
	*len = total;
	return s;
}

/* The first line of the error report must be "matcalc: -e:LINE:COL: error: ..."
 * followed by the source line and a caret line. */
static void assert_report(const struct result *r, const char *what)
{
	ck_assert_msg(!r->ok && r->status == 2, "%s: expected an error (status %d)", what,
		      r->status);
	ck_assert_msg(strncmp(r->err, "matcalc: -e:", 12) == 0, "%s: report %.200s", what, r->err);
	int line, col;
	ck_assert_msg(sscanf(r->err, "matcalc: -e:%d:%d: error: ", &line, &col) == 2,
		      "%s: no line:col in %.200s", what, r->err);
	const char *nl1 = strchr(r->err, '\n');
	ck_assert_msg(nl1 && strchr(nl1 + 1, '\n'), "%s: no source line in %.200s", what, r->err);
	const char *caret = strchr(nl1 + 1, '\n') + 1;
	while (*caret == ' ')
		caret++;
	ck_assert_msg(strcmp(caret, "^\n") == 0, "%s: no caret line in %.300s", what, r->err);
	ck_assert_msg(r->seconds < LIMIT_SECONDS, "%s took %.1f s", what, r->seconds);
}

/* ---- nesting 100,000 deep, and chains of a million ---- */

static const struct {
	const char *name, *head, *mid, *tail;
	long n;
	bool tail_too; /* close what head opened */
	const char *msg;
	const char *pre; /* once before it all */
} deep_cases[] = {
    {"parentheses", "(", "x", ")", 100000, true, "expression nested too deeply", NULL},
    {"unclosed parentheses", "(", "x", "", 100000, false, "expression nested too deeply", NULL},
    {"braces", "{", "x", "}", 100000, true, "expression nested too deeply", NULL},
    {"\\left(", "\\left(", "x", "\\right)", 100000, true, "expression nested too deeply", NULL},
    {"tr", "tr(", "A", ")", 100000, true, "expression nested too deeply", NULL},
    {"exp", "exp(", "x", ")", 100000, true, "expression nested too deeply", NULL},
    {"grad", "grad(", "f", ", x)", 100000, true, "expression nested too deeply", NULL},
    {"negated parentheses", "-(", "x", ")", 100000, true, "expression nested too deeply", NULL},
    {"minus signs", "-", "x", "", 100000, false, "expression nested too deeply", NULL},
    {"plus signs", "+", "x", "", 100000, false, "expression nested too deeply", NULL},
    {"nabla", "∇_x ", "f", "", 100000, false, "expression nested too deeply", NULL},
    {"norms", "||", "x", "||", 100000, true, "expression nested too deeply", NULL},
    {"transposes", "", "X", "^T", 100000, true, "expression nested too deeply", NULL},
    {"primes", "", "X", "'", 100000, true, "expression nested too deeply", NULL},
    {"inverses", "", "A", "^-1", 100000, true, "expression nested too deeply", NULL},
    {"powers", "", "x", "^2", 100000, true, "expression nested too deeply", NULL},
    {"exponents", "a^(", "a", ")", 100000, true, "expression nested too deeply", NULL},
    {"a million terms", "", "a", "+a", 1000000, true, "expression nested too deeply", NULL},
    {"a million differences", "", "a", " - a", 1000000, true, "expression nested too deeply", NULL},
    {"a million factors", "", "x", " x", 1000000, true, "expression nested too deeply", NULL},
    {"Hadamard chain", "", "x", " ⊙ x", 100000, true, "expression nested too deeply", NULL},
    {"Kronecker chain", "", "A", " ⊗ A", 100000, true, "expression nested too deeply", NULL},
    {"matrix in matrix", "[", "1", "]", 100000, true,
     "a matrix literal holds numbers only, like [1 2; 3 4]", NULL},
    {"deep size", "(", "n", ")", 100000, true, "expression nested too deeply", "let X : matrix"},
    {"deep definition", "(", "x", ")", 100000, true, "expression nested too deeply", "f = "},
    {"deep equation", "-(", "x", ")", 100000, true, "expression nested too deeply", "check(x = "},
};

START_TEST(test_deep)
{
	size_t len;
	char *body =
	    nest(deep_cases[_i].head, deep_cases[_i].n, deep_cases[_i].mid, deep_cases[_i].tail,
		 deep_cases[_i].tail_too ? deep_cases[_i].n : 0, &len);
	const char *pre = deep_cases[_i].pre ? deep_cases[_i].pre : "";
	char *text = mc_xmalloc(strlen(pre) + len + 1);
	strcpy(text, pre);
	memcpy(text + strlen(pre), body, len + 1);
	len += strlen(pre);
	free(body);
	struct result r = run_bytes(text, len);
	assert_report(&r, deep_cases[_i].name);
	ck_assert_msg(strstr(r.err, deep_cases[_i].msg) != NULL, "%s: %.300s", deep_cases[_i].name,
		      r.err);
	/* the caret line is cut to a readable width */
	ck_assert_msg(strlen(r.err) < 400, "%s: report of %zu bytes", deep_cases[_i].name,
		      strlen(r.err));
	result_free(&r);
	free(text);
}
END_TEST

/* Just below the limit, nesting works (and so does printing it). */
START_TEST(test_deep_but_allowed)
{
	size_t len;
	char *text = nest("tr(", 1500, "A", ")", 1500, &len);
	struct result r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert(r.out[0] != '\0');
	ck_assert(r.seconds < LIMIT_SECONDS);
	result_free(&r);
	free(text);
	text = nest("(", 4000, "x", ")", 4000, &len); /* parentheses make no nodes */
	r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_str_eq(r.out, "x\n");
	result_free(&r);
	free(text);
}
END_TEST

/* ---- bytes that are not text ---- */

static const struct {
	const char *in;
	size_t len;
	const char *report;
} byte_cases[] = {
#define B(s) s, sizeof s - 1
    {B("x \xff y"), "matcalc: -e:1:3: error: invalid UTF-8 byte 0xFF\nx ? y\n  ^\n"},
    {B("\x80"), "matcalc: -e:1:1: error: invalid UTF-8 byte 0x80\n?\n^\n"},
    {B("θ \xce"), "matcalc: -e:1:3: error: invalid UTF-8 byte 0xCE\nθ ?\n  ^\n"},
    {B("x + (\n  y \xe2\x88"), "matcalc: -e:2:5: error: invalid UTF-8 byte 0xE2\n  y ??\n    ^\n"},
    {B("\xc0\xaf"), "matcalc: -e:1:1: error: invalid UTF-8 byte 0xC0\n??\n^\n"},
    {B("x\xe0\x80\x80"), "matcalc: -e:1:2: error: invalid UTF-8 byte 0xE0\nx???\n ^\n"},
    {B("\xed\xa0\x80"), "matcalc: -e:1:1: error: invalid UTF-8 byte 0xED\n???\n^\n"},
    {B("\xf4\x90\x80\x80"), "matcalc: -e:1:1: error: invalid UTF-8 byte 0xF4\n????\n^\n"},
    {B("\xf8\x88\x80\x80\x80"), "matcalc: -e:1:1: error: invalid UTF-8 byte 0xF8\n?????\n^\n"},
    {B("[1 \xff]"), "matcalc: -e:1:4: error: a matrix literal holds numbers only, like [1 2; 3 "
		    "4]\n[1 ?]\n   ^\n"},
    {B("x\0y"), "matcalc: -e:1:2: error: unexpected control character 0x00\nx?y\n ^\n"},
    {B("\0"), "matcalc: -e:1:1: error: unexpected control character 0x00\n?\n^\n"},
    {B("x\n\0"), "matcalc: -e:2:1: error: unexpected control character 0x00\n?\n^\n"},
    {B("x\x1b[31m"), "matcalc: -e:1:2: error: unexpected control character 0x1B\nx?[31m\n ^\n"},
    {B("x\x7f"), "matcalc: -e:1:2: error: unexpected control character 0x7F\nx?\n ^\n"},
    {B("x\fy"), "matcalc: -e:1:2: error: unexpected control character 0x0C\nx?y\n ^\n"},
    {B("x\vy"), "matcalc: -e:1:2: error: unexpected control character 0x0B\nx?y\n ^\n"},
    {B("x € y"), "matcalc: -e:1:3: error: unexpected character '€'\nx € y\n  ^\n"},
    {B("x \xf0\x9f\x98\x80"), "matcalc: -e:1:3: error: unexpected character '\xf0\x9f\x98\x80'\n"
			      "x \xf0\x9f\x98\x80\n  ^\n"},
    {B("\tx ?"), "matcalc: -e:1:4: error: unexpected character '?'\n x ?\n   ^\n"},
#undef B
};

START_TEST(test_bytes)
{
	struct result r = run_bytes(byte_cases[_i].in, byte_cases[_i].len);
	assert_report(&r, byte_cases[_i].report);
	ck_assert_msg(strcmp(r.err, byte_cases[_i].report) == 0, "--- expected\n%s--- got\n%s",
		      byte_cases[_i].report, r.err);
	result_free(&r);
}
END_TEST

/* Every control character but tab, newline and carriage return is an error at
 * its own column. */
START_TEST(test_control_characters)
{
	for (int c = 0; c < 0x20; c++) {
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		char text[] = {'x', ' ', (char)c, ' ', 'y'};
		struct result r = run_bytes(text, sizeof text);
		char want[64];
		snprintf(want, sizeof want,
			 "matcalc: -e:1:3: error: unexpected control character 0x%02X\n", c);
		assert_report(&r, want);
		ck_assert_msg(strncmp(r.err, want, strlen(want)) == 0, "got %s", r.err);
		result_free(&r);
	}
	/* NUL and friends are fine inside a comment */
	static const char commented[] = "x # a\0b\x01\xff\nx";
	struct result r = run_bytes(commented, sizeof commented - 1);
	ck_assert_msg(r.ok, "%s", r.err);
	ck_assert_str_eq(r.out, "x\nx\n");
	result_free(&r);
	/* carriage returns are blanks: DOS line ends work */
	static const char dos[] = "let a : scalar\r\na\r\n";
	r = run_bytes(dos, sizeof dos - 1);
	ck_assert_msg(r.ok, "%s", r.err);
	ck_assert_str_eq(r.out, "a\n");
	result_free(&r);
}
END_TEST

/* ---- huge lines ---- */

#define TEN_MB (10L * 1024 * 1024)

static char *filled(char c, long n, const char *head, const char *tail, size_t *len)
{
	size_t lh = strlen(head), lt = strlen(tail);
	char *s = mc_xmalloc(lh + (size_t)n + lt + 1);
	memcpy(s, head, lh);
	memset(s + lh, c, (size_t)n);
	memcpy(s + lh + n, tail, lt + 1);
	*len = lh + (size_t)n + lt;
	return s;
}

START_TEST(test_huge_lines)
{
	size_t len;
	struct result r;
	char *text;

	/* a 10 MB name is a name */
	text = filled('x', TEN_MB, "", "", &len);
	r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_uint_eq(strlen(r.out), (size_t)TEN_MB + 1);
	ck_assert(r.seconds < LIMIT_SECONDS);
	result_free(&r);
	free(text);

	/* a 10 MB comment, and 10 MB of blanks */
	text = filled('c', TEN_MB, "# ", "\nx", &len);
	r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_str_eq(r.out, "x\n");
	ck_assert(r.seconds < LIMIT_SECONDS);
	result_free(&r);
	free(text);
	text = filled(' ', TEN_MB, "", "y", &len);
	r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_str_eq(r.out, "y\n");
	result_free(&r);
	free(text);

	/* a 10 MB LaTeX command: the message quotes only its start */
	text = filled('a', TEN_MB, "x + \\", "", &len);
	r = run_bytes(text, len);
	assert_report(&r, "long LaTeX command");
	ck_assert_msg(strstr(r.err, "unknown LaTeX command '\\aaaaaaaaaa") != NULL, "%.300s",
		      r.err);
	ck_assert(strlen(r.err) < 400);
	result_free(&r);
	free(text);

	/* a 10 MB number */
	text = filled('9', TEN_MB, "x + ", "", &len);
	r = run_bytes(text, len);
	assert_report(&r, "long number");
	ck_assert_msg(strstr(r.err, "-e:1:5: error: number out of range: 9999") != NULL, "%.300s",
		      r.err);
	ck_assert(strlen(r.err) < 400);
	result_free(&r);
	free(text);

	/* 10 MB of bad bytes: the first one is reported */
	text = filled('\xff', TEN_MB, "x ", "", &len);
	r = run_bytes(text, len);
	assert_report(&r, "bad bytes");
	ck_assert_msg(strncmp(r.err, "matcalc: -e:1:3: error: invalid UTF-8 byte 0xFF\n", 48) == 0,
		      "%.300s", r.err);
	result_free(&r);
	free(text);
}
END_TEST

/* A matrix literal of a million numbers is read without a node per number. */
START_TEST(test_huge_matrix)
{
	long n = 1000000;
	size_t len;
	char *text = nest("", 0, "[", "1 ", n, &len);
	text = mc_xrealloc(text, len + 2);
	text[len - 1] = ']';
	struct result r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_uint_eq(strlen(r.out), (size_t)(2 * n + 2));
	ck_assert(strncmp(r.out, "[1 1 1", 6) == 0);
	ck_assert(r.seconds < LIMIT_SECONDS);
	result_free(&r);
	free(text);
	/* and a column of them, one a line */
	text = nest("", 0, "[", "2\n", n, &len);
	text[len - 1] = ']';
	r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert(strncmp(r.out, "[2; 2; 2", 8) == 0);
	result_free(&r);
	free(text);
}
END_TEST

/* Many statements, and many lines, run in order. */
START_TEST(test_many_statements)
{
	size_t len;
	char *text = nest("", 0, "", "x\n", 100000, &len);
	struct result r = run_bytes(text, len);
	ck_assert_msg(r.ok, "%.300s", r.err);
	ck_assert_uint_eq(strlen(r.out), 200000);
	ck_assert(r.seconds < LIMIT_SECONDS);
	result_free(&r);
	free(text);
	/* an error on the last of 100,000 lines is located there */
	text = nest("", 0, "", "\n", 100000, &len);
	text = mc_xrealloc(text, len + 8);
	strcpy(text + len, "  x +");
	r = run_bytes(text, len + 5);
	assert_report(&r, "last line");
	ck_assert_msg(
	    strncmp(r.err, "matcalc: -e:100001:6: error: unexpected end of statement\n", 57) == 0,
	    "%.300s", r.err);
	result_free(&r);
	free(text);
}
END_TEST

/* ---- statements cut short, and other syntax errors ---- */

static const struct {
	const char *in, *report;
} cut_cases[] = {
    {"[1 2; 3 4", "matcalc: -e:1:10: error: unexpected end of statement, expecting ']'\n"
		  "[1 2; 3 4\n         ^\n"},
    {"X = [1 2\n", "matcalc: -e:1:9: error: unexpected end of statement, expecting ']'\n"
		   "X = [1 2\n        ^\n"},
    {"[", "matcalc: -e:1:2: error: unexpected end of statement, expecting number or '-'\n[\n ^\n"},
    {"||x",
     "matcalc: -e:1:4: error: unexpected end of statement, expecting closing ||\n||x\n   ^\n"},
    {"||x + ||y||", "matcalc: -e:1:12: error: unexpected end of statement, expecting closing ||\n"
		    "||x + ||y||\n           ^\n"},
    {"||", "matcalc: -e:1:3: error: unexpected end of statement\n||\n  ^\n"},
    {"^", "matcalc: -e:1:1: error: unexpected ^\n^\n^\n"},
    {"^T", "matcalc: -e:1:1: error: unexpected ^T\n^T\n^\n"},
    {"'", "matcalc: -e:1:1: error: unexpected ^T\n'\n^\n"},
    {"x^", "matcalc: -e:1:3: error: unexpected end of statement\nx^\n  ^\n"},
    {"let", "matcalc: -e:1:4: error: unexpected end of statement, expecting name\nlet\n   ^\n"},
    {"let x", "matcalc: -e:1:6: error: unexpected end of statement, expecting ':' or ','\n"
	      "let x\n     ^\n"},
    {"let x :", "matcalc: -e:1:8: error: unexpected end of statement, expecting name or function "
		"name\nlet x :\n       ^\n"},
    {"let x, : scalar", "matcalc: -e:1:8: error: unexpected ':', expecting name\n"
			"let x, : scalar\n       ^\n"},
    {"let let", "matcalc: -e:1:5: error: unexpected let, expecting name\nlet let\n    ^\n"},
    {"let x : 3", "matcalc: -e:1:9: error: unexpected number, expecting name or function name\n"
		  "let x : 3\n        ^\n"},
    {"let x : vector()", "matcalc: -e:1:16: error: unexpected ')'\n"
			 "let x : vector()\n               ^\n"},
    {"let x : vector(n, m)", "matcalc: -e:1:9: error: vector takes one size: vector(n)\n"
			     "let x : vector(n, m)\n        ^\n"},
    {"let x : matrix(n, m, k)", "matcalc: -e:1:9: error: matrix takes two sizes: matrix(n, m)\n"
				"let x : matrix(n, m, k)\n        ^\n"},
    {"let x : tensor(n)", "matcalc: -e:1:9: error: unknown type word 'tensor': use scalar, "
			  "vector(n), matrix(n, m), symmetric matrix(n, n) or spd matrix(n, n)\n"
			  "let x : tensor(n)\n        ^\n"},
    {"let x : symmetric",
     "matcalc: -e:1:1: error: say what kind: scalar, vector(n) or matrix(n, m)\n"
     "let x : symmetric\n^\n"},
    {"tr(\n", "matcalc: -e:1:4: error: unexpected end of statement\ntr(\n   ^\n"},
    {"f = ", "matcalc: -e:1:5: error: unexpected end of statement\nf = \n    ^\n"},
    {"x = = y", "matcalc: -e:1:5: error: unexpected '='\nx = = y\n    ^\n"},
    {"x\n)\ny", "matcalc: -e:2:1: error: unexpected ')'\n)\n^\n"},
    {"\\sum_{i=1}^n x_i", "matcalc: -e:1:1: error: index notation (\\sum) is not supported: write "
			  "the expression with matrices and vectors, e.g. θ^T A θ for a double "
			  "sum\n\\sum_{i=1}^n x_i\n^\n"},
    {"x + 1e999", "matcalc: -e:1:5: error: number out of range: 1e999\nx + 1e999\n    ^\n"},
    {"\\boldsymbol{\\ttheta} x", "matcalc: -e:1:13: error: unknown LaTeX command '\\ttheta'\n"
				 "\\boldsymbol{\\ttheta} x\n            ^\n"},
};

START_TEST(test_cut)
{
	struct result r = run_bytes(cut_cases[_i].in, strlen(cut_cases[_i].in));
	assert_report(&r, cut_cases[_i].in);
	ck_assert_msg(strcmp(r.err, cut_cases[_i].report) == 0, "%s\n--- expected\n%s--- got\n%s",
		      cut_cases[_i].in, cut_cases[_i].report, r.err);
	result_free(&r);
}
END_TEST

/* Inputs the fuzzer found crashing, kept as regressions. */
static const struct {
	const char *in;
	size_t len;
} fuzz_crashes[] = {
#define B(s) s, sizeof s - 1
    /* lexer.l: RESCAN evaluated its length after yyless had cut yytext */
    {B("\\nabla_{\\boldsymbol{\\ttheta} ^n a_{ij} \\theta_i\n")},
    {B("\\mathbf{\\nabla} x")},
#undef B
};

START_TEST(test_fuzz_crashes)
{
	struct result r = run_bytes(fuzz_crashes[_i].in, fuzz_crashes[_i].len);
	ck_assert_msg(r.ok || r.status == 2, "%s", r.err);
	result_free(&r);
}
END_TEST

/* lexer.l: a trailing-context rule made flex keep a fixed 16 KB state buffer
 * that any longer token overran (a comment, a name, a name before '('). */
START_TEST(test_long_tokens)
{
	static const struct {
		char fill;
		const char *head, *tail, *out;
		bool may_fail; /* an unknown function of that name */
	} cases[] = {
	    {'c', "#", "\nx", "x\n", false},
	    {'x', "", " + y", NULL, false},
	    {'x', "", "(y)", NULL, true},
	    {'x', "", "  (y)", NULL, true}, /* x (y): a product of two vectors, an error */
	    {'0', "0.", "1 x", NULL, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t len;
		char *text = filled(cases[i].fill, 100000, cases[i].head, cases[i].tail, &len);
		struct result r = run_bytes(text, len);
		ck_assert_msg(r.ok || (cases[i].may_fail && r.status == 2), "case %zu: %.200s", i,
			      r.err);
		if (cases[i].out)
			ck_assert_str_eq(r.out, cases[i].out);
		result_free(&r);
		free(text);
	}
}
END_TEST

/* src/mc.c mc_intern (and the session's name lookups) scan every name: a text
 * with 30,000 distinct names takes about a minute. */
START_TEST(test_many_names_quadratic)
{
	struct sbuf b = {0};
	for (int i = 0; i < 30000; i++)
		sbuf_printf(&b, "x%d\n", i);
	struct result r = run_bytes(b.s, b.len);
	ck_assert(r.ok);
	ck_assert_msg(r.seconds < LIMIT_SECONDS, "30,000 names took %.1f s", r.seconds);
	result_free(&r);
	sbuf_free(&b);
}
END_TEST

/* src/verify.c compare: with X bound, a claimed gradient of a function that
 * does not depend on X dereferences a NULL value (SEGV; found by the fuzzer):
 * X = [1 2; 3 4] then check(grad(tr(Z), X) = eye(2)). */
START_TEST(test_check_zero_gradient)
{
	static const char text[] = "X = [1 2; 3 4]\ncheck(grad(tr(Z), X) = eye(2))\n";
	struct result r = run_bytes(text, sizeof text - 1);
	ck_assert(r.status <= 2);
	result_free(&r);
}
END_TEST

static Suite *badinput_suite(void)
{
	Suite *s = suite_create("badinput");
	TCase *tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_deep, 0, (int)(sizeof deep_cases / sizeof *deep_cases));
	tcase_add_test(tc, test_deep_but_allowed);
	tcase_add_loop_test(tc, test_bytes, 0, (int)(sizeof byte_cases / sizeof *byte_cases));
	tcase_add_test(tc, test_control_characters);
	tcase_add_loop_test(tc, test_cut, 0, (int)(sizeof cut_cases / sizeof *cut_cases));
	tcase_add_loop_test(tc, test_fuzz_crashes, 0,
			    (int)(sizeof fuzz_crashes / sizeof *fuzz_crashes));
	tcase_add_test(tc, test_long_tokens);
	suite_add_tcase(s, tc);
	TCase *big = tcase_create("huge");
	tcase_add_test(big, test_huge_lines);
	tcase_add_test(big, test_huge_matrix);
	tcase_add_test(big, test_many_statements);
	tcase_add_test(big, test_many_names_quadratic);
	tcase_add_test(big, test_check_zero_gradient);
	tcase_set_timeout(big, 300);
	suite_add_tcase(s, big);
	return s;
}

int main(void)
{
	return ts_run_suite(badinput_suite());
}
