/* bench_read.c - reading speed: a LaTeX formula of 100 kB (glued letters, bold
 * names with indices, \tfrac, \left\| \right\|_2^2, \operatorname{tr}) parsed,
 * resolved and printed back as LaTeX and plain text. Prints medians; not a test.
 *
 * Usage: bench_read [KILOBYTES] [REPEATS] [SHAPE]   (default 100, 9 and norms)
 * SHAPE: norms (the formula above: a sum of scalars), matrices (a sum of
 * matrix products with transposes and inverses), nested (matrix times a sum,
 * parentheses 40 deep, again and again). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "print.h"
#include "statement.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* the CPU time of this thread: what the work took, without the time other
 * processes had the core (the machine may be shared) */
static double cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The formula: groups of 40 terms in parentheses (the sum stays shallower
 * than the nesting limit), each term a norm or a trace of glued letters. */
static void term_norms(struct sbuf *b, int k)
{
	if (k % 2)
		sbuf_printf(b, "\\operatorname{tr}(XA_{%d}X^\\top)", k);
	else
		sbuf_printf(b,
			    "\\tfrac{1}{2}\\left\\|\\mathbf{W}_{%d}\\mathbf{x} - "
			    "\\mathbf{y}\\right\\|_2^2",
			    k);
}

/* matrices: X^T A_k X and B_k^{-1} X^T X, all m x m */
static void term_matrices(struct sbuf *b, int k)
{
	if (k % 2)
		sbuf_printf(b, "\\mathbf{X}^\\top\\mathbf{A}_{%d}\\mathbf{X}", k);
	else
		sbuf_printf(b, "\\mathbf{B}_{%d}^{-1}\\mathbf{X}^\\top\\mathbf{X}", k);
}

/* nested: A_k (x_0 + A_k (x_1 + ... y)) 40 levels deep */
static void term_nested(struct sbuf *b, int k)
{
	for (int i = 0; i < 40; i++)
		sbuf_printf(b, "\\mathbf{A}_{%d}\\left(\\mathbf{x}_{%d} + ", k, i);
	sbuf_add(b, "\\mathbf{y}");
	for (int i = 0; i < 40; i++)
		sbuf_add(b, "\\right)");
}

static char *formula(size_t kb, const char *shape, size_t *len)
{
	void (*term)(struct sbuf *, int) = strcmp(shape, "matrices") == 0 ? term_matrices
					   : strcmp(shape, "nested") == 0 ? term_nested
									  : term_norms;
	/* a nest is 40 deep already: one to a group */
	int group = term == term_nested ? 1 : 40;
	struct sbuf b = {0};
	int k = 0;
	while (b.len < kb * 1024) {
		sbuf_add(&b, b.len ? " + \\left(" : "\\left(");
		for (int i = 0; i < group; i++, k++) {
			if (i)
				sbuf_add(&b, " + ");
			term(&b, k);
		}
		sbuf_add(&b, "\\right)");
	}
	*len = b.len;
	return sbuf_take(&b);
}

int main(int argc, char **argv)
{
	size_t kb = argc > 1 ? (size_t)atol(argv[1]) : 100;
	int reps = argc > 2 ? atoi(argv[2]) : 9;
	if (reps < 1 || reps > 1000)
		reps = 9;
	const char *shape = argc > 3 ? argv[3] : "norms";
	if (strcmp(shape, "norms") != 0 && strcmp(shape, "matrices") != 0 &&
	    strcmp(shape, "nested") != 0) {
		fprintf(stderr, "bench_read: SHAPE is norms, matrices or nested\n");
		return 2;
	}
	size_t len;
	char *text = formula(kb, shape, &len);
	/* per repeat: parse, resolve, LaTeX, plain, and the whole */
	enum { T_PARSE, T_RESOLVE, T_LATEX, T_PLAIN, T_ALL, T_CPU, T_N };
	double *t[T_N];
	for (int i = 0; i < T_N; i++)
		t[i] = calloc((size_t)reps, sizeof *t[i]);
	size_t out = 0;
	for (int r = 0; r < reps; r++) {
		struct session *s = session_new(stdout, stderr);
		double c0 = cpu(), t0 = now();
		struct parse p;
		if (!parse_text_names(&p, s->mc, text, len, false, session_knows_name, s)) {
			fprintf(stderr, "bench_read: %s\n", p.err);
			return 2;
		}
		double t1 = now();
		struct expr *e = session_resolve(s, p.items[0]->kids[0]);
		if (!e) {
			fprintf(stderr, "bench_read: %s\n", s->mc->err.msg);
			return 2;
		}
		double t2 = now();
		char *latex = print_str(s->mc, e, PRINT_LATEX);
		double t3 = now();
		char *plain = print_str(s->mc, e, PRINT_PLAIN);
		double t4 = now(), c4 = cpu();
		out = strlen(latex) + strlen(plain);
		free(latex);
		free(plain);
		parse_free(&p);
		session_free(s);
		t[T_PARSE][r] = t1 - t0;
		t[T_RESOLVE][r] = t2 - t1;
		t[T_LATEX][r] = t3 - t2;
		t[T_PLAIN][r] = t4 - t3;
		t[T_ALL][r] = t4 - t0;
		t[T_CPU][r] = c4 - c0;
	}
	double med[T_N], best = 0;
	for (int i = 0; i < T_N; i++) {
		qsort(t[i], (size_t)reps, sizeof *t[i], cmp_double);
		med[i] = 1e3 * t[i][reps / 2];
		if (i == T_ALL)
			best = 1e3 * t[i][0];
		free(t[i]);
	}
	printf("%s, %zu bytes: parse %.2f ms, resolve %.2f ms, print LaTeX %.2f ms, print plain "
	       "%.2f ms; all (%zu bytes printed) %.2f ms, fastest %.2f ms, CPU time %.2f ms "
	       "(medians of %d)\n",
	       shape, len, med[T_PARSE], med[T_RESOLVE], med[T_LATEX], med[T_PLAIN], out,
	       med[T_ALL], best, med[T_CPU], reps);
	free(text);
	return 0;
}
