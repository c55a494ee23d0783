/* bench_read.c - reading speed: a LaTeX formula of 100 kB (glued letters, bold
 * names with indices, \tfrac, \left\| \right\|_2^2, \operatorname{tr}) parsed,
 * resolved and printed back as LaTeX and plain text. Prints the median wall
 * time of each phase and, in parentheses, the CPU time the thread had; not a test.
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
	/* per repeat, wall and CPU time of each phase: parse, resolve, LaTeX, plain */
	enum { T_PARSE, T_RESOLVE, T_LATEX, T_PLAIN, T_ALL, T_N };
	double *wall[T_N], *cput[T_N];
	for (int i = 0; i < T_N; i++) {
		wall[i] = calloc((size_t)reps, sizeof *wall[i]);
		cput[i] = calloc((size_t)reps, sizeof *cput[i]);
	}
	size_t out = 0;
	for (int r = 0; r < reps; r++) {
		struct session *s = session_new(stdout, stderr);
		double w[T_N], c[T_N];
		w[0] = now(), c[0] = cpu();
		/* read as the CLI reads a text (session_parse), then the statement's
		 * expression resolved */
		struct session_text t;
		if (!session_parse(s, &t, "bench", text, len, NULL))
			return 2;
		w[1] = now(), c[1] = cpu();
		struct expr *e = session_resolve(s, t.p.items[0]->kids[0]);
		if (!e) {
			fprintf(stderr, "bench_read: %s\n", s->mc->err.msg);
			return 2;
		}
		w[2] = now(), c[2] = cpu();
		char *latex = print_str(s->mc, e, PRINT_LATEX);
		w[3] = now(), c[3] = cpu();
		char *plain = print_str(s->mc, e, PRINT_PLAIN);
		w[4] = now(), c[4] = cpu();
		out = strlen(latex) + strlen(plain);
		free(latex);
		free(plain);
		session_text_free(&t);
		session_free(s);
		for (int i = 0; i < T_ALL; i++) {
			wall[i][r] = w[i + 1] - w[i];
			cput[i][r] = c[i + 1] - c[i];
		}
		wall[T_ALL][r] = w[4] - w[0];
		cput[T_ALL][r] = c[4] - c[0];
	}
	double mw[T_N], mc[T_N], best;
	for (int i = 0; i < T_N; i++) {
		qsort(wall[i], (size_t)reps, sizeof *wall[i], cmp_double);
		qsort(cput[i], (size_t)reps, sizeof *cput[i], cmp_double);
		mw[i] = 1e3 * wall[i][reps / 2];
		mc[i] = 1e3 * cput[i][reps / 2];
	}
	best = 1e3 * wall[T_ALL][0];
	for (int i = 0; i < T_N; i++) {
		free(wall[i]);
		free(cput[i]);
	}
	/* medians; in parentheses the CPU time the thread had (less than the wall
	 * time when other processes share the cores) */
	printf("%s, %zu bytes: parse %.2f (%.2f) ms, resolve %.2f (%.2f) ms, print LaTeX %.2f "
	       "(%.2f) ms, print plain %.2f (%.2f) ms; all %.2f (%.2f) ms, fastest %.2f ms; "
	       "%zu bytes printed; medians of %d\n",
	       shape, len, mw[T_PARSE], mc[T_PARSE], mw[T_RESOLVE], mc[T_RESOLVE], mw[T_LATEX],
	       mc[T_LATEX], mw[T_PLAIN], mc[T_PLAIN], mw[T_ALL], mc[T_ALL], best, out, reps);
	free(text);
	return 0;
}
