/* bench_read.c - reading speed: a LaTeX formula of 100 kB (glued letters, bold
 * names with indices, \tfrac, \left\| \right\|_2^2, \operatorname{tr}) parsed,
 * resolved and printed back as LaTeX and plain text. Prints medians; not a test.
 *
 * Usage: bench_read [KILOBYTES] [REPEATS]   (default 100 and 9) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "print.h"
#include "statement.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The formula: groups of 40 terms in parentheses (the sum stays shallower
 * than the nesting limit), each term a norm or a trace of glued letters. */
static char *formula(size_t kb, size_t *len)
{
	struct sbuf b = {0};
	int k = 0;
	while (b.len < kb * 1024) {
		sbuf_add(&b, b.len ? " + \\left(" : "\\left(");
		for (int i = 0; i < 40; i++, k++) {
			if (i)
				sbuf_add(&b, " + ");
			if (k % 2)
				sbuf_printf(&b, "\\operatorname{tr}(XA_{%d}X^\\top)", k);
			else
				sbuf_printf(&b, "\\tfrac{1}{2}\\left\\|\\mathbf{W}_{%d}\\mathbf{x} - "
						"\\mathbf{y}\\right\\|_2^2",
					    k);
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
	size_t len;
	char *text = formula(kb, &len);
	/* per repeat: parse, resolve, LaTeX, plain, and the whole */
	enum { T_PARSE, T_RESOLVE, T_LATEX, T_PLAIN, T_ALL, T_N };
	double *t[T_N];
	for (int i = 0; i < T_N; i++)
		t[i] = calloc((size_t)reps, sizeof *t[i]);
	size_t out = 0;
	for (int r = 0; r < reps; r++) {
		struct session *s = session_new(stdout, stderr);
		double t0 = now();
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
		double t4 = now();
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
	}
	double med[T_N];
	for (int i = 0; i < T_N; i++) {
		qsort(t[i], (size_t)reps, sizeof *t[i], cmp_double);
		med[i] = 1e3 * t[i][reps / 2];
		free(t[i]);
	}
	printf("formula %zu bytes: parse %.2f ms, resolve %.2f ms, print LaTeX %.2f ms, "
	       "print plain %.2f ms; all (%zu bytes printed) %.2f ms (medians of %d)\n",
	       len, med[T_PARSE], med[T_RESOLVE], med[T_LATEX], med[T_PLAIN], out, med[T_ALL],
	       reps);
	free(text);
	return 0;
}
